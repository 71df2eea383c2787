// Issue 15: several `hoist watch` processes (ingest stations) share one job queue: a PostgreSQL
// database of the test server's (scripts/with-pg.sh), which turns the shared queue on by itself; with
// HOIST_TEST_STORE=sqlite, one SQLite file on one machine (HOIST_SHARED_QUEUE=1). Real radosgw behind
// the fault proxy, which counts what each key and part was sent.
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { test } from 'node:test';
import { MiB } from '../../shared/limits.js';
import { until } from '../support/engine.js';
import { hoist, type CliResult } from '../support/hoist-cli.js';
import { LEASE_MS, SHARED, peek, queueWithFolder as queueOn, sendsPerKey as sendsAtProxy, startNodes, stopAll } from '../support/cluster-nodes.js';
import { listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('cluster', { proxy: true });

const queueWithFolder = (label: string, prefix: string, singlePutThreshold: number) => queueOn(proxy, bucket, label, prefix, singlePutThreshold);
const sendsPerKey = (ops: readonly string[]) => sendsAtProxy(proxy, bucket, ops);

test('three hoist watch processes on one queue watch one folder: 30 files each uploaded exactly once, byte for byte, the work spread over all three', async () => {
  const q = await queueWithFolder('cluster-three', 'three', 100 * MiB);
  proxy.reset();
  // About a quarter of a second per file at the proxy: the nodes' claims overlap, as on a real link.
  proxy.setBandwidth(2 * MiB, { perRequest: true });
  const nodes = await startNodes(q.db, q.cli, 3);
  const files: string[] = [];
  let ended: CliResult[];
  try {
    for (let c = 0; c < 3; c++) fs.mkdirSync(path.join(q.watched, `card-${c}`));
    for (let i = 0; i < 30; i++) files.push(await writeRandomFile(path.join(q.watched, `card-${i % 3}`, `C${String(i).padStart(4, '0')}.mxf`), 256 * 1024 + i * 4096));
    await until('all 30 jobs done', () => peek<{ n: number }>(q.db, `SELECT count(*) AS n FROM jobs WHERE state = 'done'`)[0]?.n === 30, 180_000);
  } finally {
    proxy.setBandwidth(null);
    ended = await stopAll(nodes);
  }
  for (const e of ended) assert.equal(e.code, 130, e.stderr);

  const keys = files.map((f) => `three/${path.relative(q.watched, f)}`);
  const sends = sendsPerKey(['PutObject', 'CreateMultipartUpload']);
  assert.deepEqual(keys.map((k) => [k, sends.get(k) ?? 0]), keys.map((k) => [k, 1]), 'each file sent once, by one node');
  assert.equal([...sends.values()].reduce((a, b) => a + b, 0), 30, 'nothing else sent');
  for (const [i, file] of files.entries()) assert.equal(await sha256OfObject(client, bucket, keys[i]!), await sha256OfFile(file), keys[i]);

  assert.equal(peek<{ n: number }>(q.db, 'SELECT count(*) AS n FROM jobs')[0]!.n, 30, 'one job per file');
  // Each job keeps the node whose lease held it when it ran.
  const byNode = peek<{ pid: number; n: number }>(q.db, 'SELECT n.pid, count(*) AS n FROM jobs j JOIN nodes n ON n.id = j.lease_owner GROUP BY n.pid');
  const pids = nodes.map((n) => n.child.pid);
  assert.deepEqual(byNode.map((r) => r.pid).sort(), [...pids].sort(), `every node did some of the work: ${JSON.stringify(byNode)}`);
  assert.equal(byNode.reduce((a, r) => a + r.n, 0), 30);
  fs.rmSync(q.dir, { recursive: true, force: true });
});

test('a node killed mid-upload: another takes its job over once the lease expires, sends only the parts not recorded, and leaves no upload behind', async () => {
  const q = await queueWithFolder('cluster-takeover', 'takeover', 5 * MiB);
  proxy.reset();
  // 3 MiB/s in all: the 40 MiB file's eight 5 MiB parts take about thirteen seconds, two at a time.
  proxy.setBandwidth(3 * MiB);
  const nodes = await startNodes(q.db, q.cli, 2);
  const file = await writeRandomFile(path.join(q.watched, 'A001_C002.mov'), 40 * MiB);
  const key = 'takeover/A001_C002.mov';
  let ended: CliResult[];
  let recordedBefore: number[];
  try {
    const running = await until('the job running', () => peek<{ id: number; pid: number }>(q.db, `SELECT j.id, n.pid FROM jobs j JOIN nodes n ON n.id = j.lease_owner WHERE j.key = ? AND j.state = 'running'`, key)[0]);
    // The CLI names the node working the job.
    const listed = JSON.parse((await hoist([...q.cli, 'jobs', '--json'])).stdout) as { jobs: Array<{ id: number; node: { pid: number } | null }> };
    assert.equal(listed.jobs.find((j) => j.id === running.id)?.node?.pid, running.pid, 'hoist jobs shows the node holding the running job');
    const holder = await until('two parts recorded', () => {
      const row = peek<{ id: number; pid: number; done: number }>(q.db, `SELECT j.id, n.pid, (SELECT count(*) FROM parts p WHERE p.job_id = j.id AND p.state = 'done') AS done
        FROM jobs j JOIN nodes n ON n.id = j.lease_owner WHERE j.key = ? AND j.state = 'running'`, key)[0];
      return row && row.done >= 2 ? row : undefined;
    });
    const victim = nodes.find((n) => n.child.pid === holder.pid)!;
    victim.child.kill('SIGKILL');
    await victim.done;
    recordedBefore = peek<{ part_number: number }>(q.db, `SELECT part_number FROM parts WHERE job_id = ? AND state = 'done' ORDER BY part_number`, holder.id).map((r) => r.part_number);
    assert.ok(recordedBefore.length >= 2 && recordedBefore.length < 8, `killed mid-upload (${recordedBefore.length} of 8 parts recorded)`);

    const survivor = nodes.find((n) => n !== victim)!;
    await until('the job done by the other node', () => {
      const row = peek<{ state: string; pid: number | null }>(q.db, 'SELECT j.state, n.pid FROM jobs j LEFT JOIN nodes n ON n.id = j.lease_owner WHERE j.id = ?', holder.id)[0];
      return row?.state === 'done' && row.pid === survivor.child.pid;
    }, 120_000);
    assert.ok(peek(q.db, `SELECT 1 FROM job_events WHERE job_id = ? AND kind = 'taken-over'`, holder.id).length === 1, 'its history says it was taken over');
  } finally {
    proxy.setBandwidth(null);
    ended = await stopAll(nodes);
  }
  assert.equal(ended.filter((e) => e.signal === 'SIGKILL').length, 1);

  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'byte for byte');
  assert.equal(sendsPerKey(['CreateMultipartUpload']).get(key), 1, 'the upload was taken over, not begun again');
  const sent = proxy.uploadPartNumbers();
  for (const n of recordedBefore) assert.equal(sent.filter((p) => p === n).length, 1, `part ${n}, recorded before the kill, was not sent again`);
  for (let n = 1; n <= 8; n++) assert.ok(sent.includes(n), `part ${n} sent`);
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key.startsWith('takeover/')), [], 'no upload left on the bucket');
  fs.rmSync(q.dir, { recursive: true, force: true });
});

test('a pause, a resume and a cancel written by another process reach the node working the job', async () => {
  const q = await queueWithFolder('cluster-commands', 'commands', 5 * MiB);
  proxy.reset();
  proxy.setBandwidth(3 * MiB);
  const nodes = await startNodes(q.db, q.cli, 2);
  const jobOf = (key: string) => until(`${key} running with a part recorded`, () => peek<{ id: number }>(q.db, `SELECT id FROM jobs j WHERE key = ? AND state = 'running'
    AND EXISTS (SELECT 1 FROM parts p WHERE p.job_id = j.id AND p.state = 'done')`, key)[0]?.id);
  const partsOfKey = (key: string) => proxy.requests().filter((r) => r.operation === 'UploadPart' && r.path === `/${bucket}/${key}`).length;
  try {
    const file = await writeRandomFile(path.join(q.watched, 'paused.mov'), 30 * MiB);
    const key = 'commands/paused.mov';
    const id = await jobOf(key);
    const paused = await hoist([...q.cli, 'pause', String(id)], SHARED);
    assert.equal(paused.code, 0, paused.stderr);
    // The node working it stops its parts: none left sending, and none sent after.
    await until('its parts stopped', () => peek<{ n: number }>(q.db, `SELECT count(*) AS n FROM parts WHERE job_id = ? AND state = 'sending'`, id)[0]?.n === 0);
    const sentWhenStopped = partsOfKey(key);
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    assert.equal(partsOfKey(key), sentWhenStopped, 'no part sent while paused');
    assert.equal(peek<{ state: string }>(q.db, 'SELECT state FROM jobs WHERE id = ?', id)[0]?.state, 'paused');
    const resumed = await hoist([...q.cli, 'resume', String(id)], SHARED);
    assert.equal(resumed.code, 0, resumed.stderr);
    await until('the resumed job done', () => peek<{ state: string }>(q.db, 'SELECT state FROM jobs WHERE id = ?', id)[0]?.state === 'done', 120_000);
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));

    await writeRandomFile(path.join(q.watched, 'cancelled.mov'), 30 * MiB);
    const cancelledId = await jobOf('commands/cancelled.mov');
    await hoist([...q.cli, 'cancel', String(cancelledId)], SHARED);
    await until('cancelled, its upload aborted on the bucket', async () =>
      peek<{ state: string }>(q.db, 'SELECT state FROM jobs WHERE id = ?', cancelledId)[0]?.state === 'cancelled'
      && (await listUploads(client, bucket)).every((u) => u.key !== 'commands/cancelled.mov')
      && peek(q.db, `SELECT 1 FROM owed_work WHERE state = 'owed'`).length === 0, 120_000);
  } finally {
    proxy.setBandwidth(null);
    await stopAll(nodes);
  }
  fs.rmSync(q.dir, { recursive: true, force: true });
});
