// Issue 15: "The database is stopped for 20 s mid-upload: every process stops starting work, says why,
// and resumes when it is back; nothing is sent twice that was recorded." Three `hoist watch`
// processes on a PostgreSQL server of this file's own (scripts/pg-server.sh in a folder of its own:
// the tier's server is shared by other files), really stopped (fast shutdown: the server ends every
// session) and started again. Real radosgw behind the fault proxy, which counts what each part was sent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MiB } from '../../shared/limits.js';
import { sleep, until } from '../support/engine.js';
import type { CliResult } from '../support/hoist-cli.js';
import { peek, queueWithFolder, sendsPerKey, startNodes, stopAll, type Node } from '../support/cluster-nodes.js';
import { ownPgServer, pgUrlWith, psql } from '../support/pg.js';
import { listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('cluster-outage', { proxy: true });
const server = await ownPgServer('outage');

/** How long the database stays stopped, as the issue asks. */
const OUTAGE_MS = 20_000;
// Said by the runtime (runtime.ts), one line each way, for every host.
const STOPPED = 'hoist runtime: stopped starting work: the job database cannot be reached';
const RESUMED = 'hoist runtime: the job database answers again: working the queue';

/** Resolves after `n` turns of this process's event loop (each reads what its sockets hold). */
async function loopTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** What a node has said on stderr so far (its lines are only read here, never parsed for timing). */
function said(node: Node, line: string): number {
  return node.stderrSoFar().split('\n').filter((l) => l.includes(line)).length;
}

test('the database stopped for 20 s mid-upload: every node stops starting work and says why, starts again when it is back, sends no recorded part twice and leaves no upload', async () => {
  psql('CREATE DATABASE hoist_outage', server.url);
  const db = pgUrlWith(server.url, 'hoist_outage');
  const q = await queueWithFolder(proxy, bucket, 'cluster-outage', 'outage', 5 * MiB, { db });
  proxy.reset();
  // 1 MiB/s per request: a 5 MiB part is on the wire about five seconds, so the stop finds parts in flight.
  proxy.setBandwidth(1 * MiB, { perRequest: true });
  const nodes = await startNodes(q.db, q.cli, 3);
  const files: string[] = [];
  let ended: CliResult[];
  let recordedBefore: Array<{ key: string; part_number: number }>;
  let quiet: number;
  let finished = false;
  try {
    for (let i = 0; i < 3; i++) files.push(await writeRandomFile(path.join(q.watched, `A00${i}_C001.mov`), 30 * MiB));
    // Mid-upload: no job done, two running with a part recorded and parts on the wire (which node holds which is the nodes' race).
    await until('two jobs each with a part recorded and parts on the wire', () => {
      const rows = peek<{ state: string; done: number; sending: number }>(q.db, `SELECT j.state, (SELECT count(*) FROM parts p WHERE p.job_id = j.id AND p.state = 'done') AS done,
        (SELECT count(*) FROM parts p WHERE p.job_id = j.id AND p.state = 'sending') AS sending FROM jobs j`);
      if (rows.some((r) => r.state === 'done')) throw new Error('a job ended before the outage: slow the proxy further');
      return rows.filter((r) => r.state === 'running' && r.done >= 1 && r.sending >= 1).length >= 2;
    }, 120_000);
    recordedBefore = peek(q.db, `SELECT j.key, p.part_number FROM parts p JOIN jobs j ON j.id = p.job_id WHERE p.state = 'done'`);

    // Awaited, not synchronous: the proxy (in this process) goes on reading while the server stops.
    await server.stop();
    const stoppedAt = Date.now();
    // Every node stops its work and says why; from then on nothing reaches the bucket.
    await until('every node said it stopped for want of the database', () => nodes.every((n) => said(n, STOPPED) === 1), 60_000);
    // What a node sent before it said so is already in this process's sockets, but a connection accepted
    // in the loop turn that read the last "stopped" line is read in the next: let the proxy read it first.
    await loopTurns(3);
    quiet = proxy.requests().length;
    await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
    for (const n of nodes) assert.equal(n.child.exitCode, null, `a node ended during the outage: ${n.stderrSoFar()}`);
    const during = proxy.requests().slice(quiet);
    assert.deepEqual(during.map((r) => `${r.operation} ${r.path}?${r.query} (${r.at - stoppedAt} ms after the stop, status ${r.status})`), [], 'nothing sent while the database was down');
    for (const n of nodes) assert.equal(said(n, RESUMED), 0);

    await server.start();
    await until('every node said it works again', () => nodes.every((n) => said(n, RESUMED) === 1), 60_000);
    await until('all three jobs done', () => peek<{ n: number }>(q.db, `SELECT count(*) AS n FROM jobs WHERE state = 'done'`)[0]?.n === 3, 180_000);
    finished = true;
  } finally {
    proxy.setBandwidth(null);
    ended = await stopAll(nodes);
    // What the nodes said, when the test failed before its end.
    if (!finished) for (const [i, e] of ended.entries()) process.stderr.write(`--- node ${i} (${e.code ?? e.signal}):\n${e.stderr}\n`);
  }
  for (const e of ended) assert.equal(e.code, 130, `each node ran until Ctrl-C: ${e.stderr}`);
  // One clear line each way: every other failure the outage caused (the owed work's passes, timers, the
  // heartbeat, the watcher's stop) is in the log file, not said again on stderr at each turn.
  for (const [i, e] of ended.entries()) {
    const aboutDb = e.stderr.split('\n').filter((l) => /database/i.test(l));
    assert.deepEqual(aboutDb.map((l) => (l.startsWith(STOPPED) ? 'stopped' : l.startsWith(RESUMED) ? 'resumed' : l)), ['stopped', 'resumed'], `node ${i}: what it said about the database`);
  }

  const keys = files.map((f) => `outage/${path.basename(f)}`);
  for (const [i, file] of files.entries()) assert.equal(await sha256OfObject(client, bucket, keys[i]!), await sha256OfFile(file), `${keys[i]} byte for byte`);
  // A Create answered after the database went is never recorded: the job begins another and owes the first an abort
  // (prepare.ts, cleanUpInterruptedCreate); one whose id was recorded is resumed. Either way none is left (below).
  const creates = sendsPerKey(proxy, bucket, ['CreateMultipartUpload']);
  for (const key of keys) assert.ok((creates.get(key) ?? 0) >= 1, `${key}: uploaded in parts`);
  const partSends = new Map<string, number>();
  for (const r of proxy.requests()) {
    if (r.operation !== 'UploadPart') continue;
    const at = `${decodeURIComponent(r.path.slice(`/${bucket}/`.length))}#${new URLSearchParams(r.query).get('partNumber')}`;
    partSends.set(at, (partSends.get(at) ?? 0) + 1);
  }
  assert.ok(recordedBefore.length >= 2);
  for (const p of recordedBefore) assert.equal(partSends.get(`${p.key}#${p.part_number}`), 1, `${p.key} part ${p.part_number}, recorded before the outage, sent once`);
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key.startsWith('outage/')), [], 'no upload left on the bucket');
  fs.rmSync(q.dir, { recursive: true, force: true });
});
