// Issue 15: a bandwidth limit is the cluster's, not each machine's. Three `hoist watch` processes on
// one shared queue (PostgreSQL, or HOIST_TEST_STORE=sqlite: one SQLite file) under a global limit:
// the bytes the fault proxy passes on to radosgw, per second over a window once all three send, are
// the limit within 10% in total (each node applying the whole limit sent about three times it), and
// each node sent some of them; a destination's limit the same way. The rate is measured outside
// Hoist, at the proxy, which does not throttle there: radosgw on loopback takes far more than the
// limit. A destination's concurrency is the cluster's too: its parts in flight, counted at the proxy
// (each request its own slow link there, so parts last), never pass it (each node having all of it
// had three times as many).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MiB } from '../../shared/limits.js';
import { sleep, until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { peek, queueWithFolder, startNodes, stopAll, type ClusterQueue, type Node } from '../support/cluster-nodes.js';
import { writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { bucket, proxy } = await s3Fixture('cluster-bandwidth', { proxy: true });

/** Small enough that three nodes at the whole limit each (18 MB/s) stay well within what radosgw takes on a loaded 2-core machine. */
const LIMIT = 6_000_000;
/** Nine files of 24 MiB: at three times the limit they still last through the window. */
const FILES = 9;
const FILE_SIZE = 24 * MiB;
/** After all three send: time for each node's look at the others (once a second) to settle its share. */
const SETTLE_MS = 3000;
const WINDOW_MS = 8000;

const mbps = (r: number) => `${(r / 1e6).toFixed(2)} MB/s`;

/** Request-body bytes the proxy passed on so far, per node (by the pid of the node whose lease holds the key's job). */
function bytesPerNode(q: ClusterQueue, prefix: string): Map<number, number> {
  const pidOfKey = new Map(peek<{ key: string; pid: number }>(q.db, `SELECT j.key, n.pid FROM jobs j JOIN nodes n ON n.id = j.lease_owner`).map((r) => [r.key, Number(r.pid)]));
  const out = new Map<number, number>();
  for (const r of proxy.requests()) {
    if (r.operation !== 'UploadPart') continue;
    const key = decodeURIComponent(r.path.slice(`/${bucket}/`.length));
    if (!key.startsWith(`${prefix}/`)) continue;
    const pid = pidOfKey.get(key);
    if (pid !== undefined) out.set(pid, (out.get(pid) ?? 0) + r.requestBytes);
  }
  return out;
}

/** What each node sent during `fn`, and the total rate the proxy passed on meanwhile. */
async function measure(q: ClusterQueue, prefix: string, ms: number): Promise<{ rate: number; perNode: Map<number, number> }> {
  const before = bytesPerNode(q, prefix);
  const b0 = proxy.bytesForwarded();
  const t0 = performance.now();
  await sleep(ms);
  const rate = (proxy.bytesForwarded() - b0) / ((performance.now() - t0) / 1000);
  const after = bytesPerNode(q, prefix);
  return { rate, perNode: new Map([...after].map(([pid, n]) => [pid, n - (before.get(pid) ?? 0)])) };
}

/** A queue whose destination has `concurrency`, `setup` applied, nine files, three nodes started and all three sending. */
async function threeSending(label: string, concurrency: number, setup: (q: ClusterQueue) => Promise<void>, fn: (q: ClusterQueue, pids: number[]) => Promise<void>): Promise<void> {
  const q = await queueWithFolder(proxy, bucket, label, label, 5 * MiB, { concurrency });
  proxy.reset();
  await setup(q);
  for (let i = 0; i < FILES; i++) await writeRandomFile(path.join(q.watched, `A${String(i).padStart(3, '0')}.mov`), FILE_SIZE);
  let nodes: Node[] = [];
  try {
    nodes = await startNodes(q.db, q.cli, 3);
    const pids = nodes.map((n) => n.child.pid!);
    await until('all three nodes sending', async () => {
      const first = bytesPerNode(q, label);
      await sleep(500);
      const then = bytesPerNode(q, label);
      return pids.every((pid) => (then.get(pid) ?? 0) > (first.get(pid) ?? 0));
    }, 120_000);
    await fn(q, pids);
  } finally {
    proxy.setBandwidth(null);
    await stopAll(nodes);
  }
  fs.rmSync(q.dir, { recursive: true, force: true });
}

async function limitHolds(label: string, limitArgs: (q: ClusterQueue) => string[]): Promise<void> {
  const setLimit = async (q: ClusterQueue) => {
    const set = await hoist([...q.cli, 'limit', ...limitArgs(q)]);
    assert.equal(set.code, 0, set.stderr);
  };
  // Six parts in flight for the destination, two per node: the limit, not the parts, holds each node back.
  await threeSending(label, 6, setLimit, async (q, pids) => {
    await sleep(SETTLE_MS);
    const { rate, perNode } = await measure(q, label, WINDOW_MS);
    const shares = pids.map((pid) => mbps(((perNode.get(pid) ?? 0) * 1000) / WINDOW_MS)).join(', ');
    console.log(`cluster-bandwidth (${label}): ${mbps(rate)} in all at the proxy under a ${mbps(LIMIT)} limit (${((100 * rate) / LIMIT).toFixed(0)}%); per node about ${shares}`);
    assert.ok(rate >= LIMIT * 0.9 && rate <= LIMIT * 1.1, `${mbps(rate)} in all is not within 10% of the ${mbps(LIMIT)} limit (per node ${shares})`);
    for (const pid of pids) assert.ok((perNode.get(pid) ?? 0) > 0, `node ${pid} sent during the window (per node ${shares})`);
  });
}

test('a global limit holds across three hoist watch processes: the total at the proxy is the limit within 10%, each node sending some', async () => {
  await limitHolds('global', () => [`${LIMIT}`]);
});

test("a destination's limit holds across three hoist watch processes the same way", async () => {
  await limitHolds('destination', (q) => [`${LIMIT}`, '--destination', q.destination]);
});

/** The most UploadParts of `prefix` at the proxy at once, counted at each arrival after the `afterSeq`th request. */
function mostPartsAtOnce(prefix: string, afterSeq: number): number {
  const parts = proxy.requests().filter((r) => r.operation === 'UploadPart' && r.path.startsWith(`/${bucket}/${prefix}/`));
  let most = 0;
  for (const r of parts) {
    if (r.seq <= afterSeq) continue;
    most = Math.max(most, parts.filter((o) => o.seq <= r.seq && (o.answeredSeq === undefined || o.answeredSeq > r.seq)).length);
  }
  return most;
}

test("a destination's concurrency holds across three hoist watch processes: never more of its parts at the proxy at once", async () => {
  const CONCURRENCY = 3;
  // Each request its own 1 MiB/s link: a 5 MiB part lasts about five seconds, so parts in flight are counted at the proxy.
  const slowLinks = async () => proxy.setBandwidth(1 * MiB, { perRequest: true });
  await threeSending('lanes', CONCURRENCY, slowLinks, async (_q, pids) => {
    // Parts begun before the nodes saw each other end first (a part is never cut for a share).
    await sleep(8000);
    const afterSeq = Math.max(0, ...proxy.requests().map((r) => r.seq));
    const { perNode } = await measure(_q, 'lanes', 10_000);
    const most = mostPartsAtOnce('lanes', afterSeq);
    console.log(`cluster-bandwidth (lanes): at most ${most} parts at the proxy at once under a concurrency of ${CONCURRENCY} over three nodes`);
    assert.ok(most <= CONCURRENCY, `${most} parts in flight at once, more than the destination's ${CONCURRENCY}`);
    for (const pid of pids) assert.ok((perNode.get(pid) ?? 0) > 0, `node ${pid} sent during the window`);
  });
});
