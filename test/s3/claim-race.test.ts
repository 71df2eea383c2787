// One writer per key across nodes (issue 15, store/job-leases.ts): two nodes claiming, at one moment,
// two queued jobs of the same destination and key, each through its own connection (a worker thread
// each: one process's store bridge is synchronous). The moment is made, not hoped for: this test holds
// the jobs table in EXCLUSIVE mode (plain reads go on, writes wait), both claims are sent and seen
// waiting on the server (pg_locks), then the table is let go. Without the claim's advisory lock on the
// key both UPDATEs then run at once on snapshots that do not see each other and both claim; with it the
// second waits for the first's commit and finds the key written. PostgreSQL only (SQLite has one writer).
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { test } from 'node:test';
import pg from 'pg';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { until } from '../support/engine.js';
import { freshPgDatabase } from '../support/pg.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

/** A node's claim in its own thread: resolves once its store is open, with the claim to start. */
async function claimer(url: string, jobId: number, owner: string): Promise<{ go(): Promise<boolean> }> {
  const w = new Worker(new URL('../support/claim-worker.js', import.meta.url), { workerData: { url, jobId, owner } });
  const next = () => new Promise<unknown>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await next();
  return {
    go: async () => {
      const answer = next();
      w.postMessage('go');
      const { claimed } = (await answer) as { claimed: boolean };
      await w.terminate();
      return claimed;
    },
  };
}

test('two nodes claiming two jobs of one key at one moment: one claims, the other leaves its job queued', async () => {
  const url = freshPgDatabase('claim-race');
  const { db } = openDatabase(url);
  const store = new JobStore(db);
  const d = store.upsertDestination(destination);
  const row = (n: number) => ({ destinationId: d.id, sourcePath: `/x/${n}/A001.mov`, bucket: 'bucket', key: 'A001.mov', size: 10, mtimeMs: 1, inode: String(n), contentType: 'video/mp4', mode: 'single' as const, partSize: 10, priority: 'normal' as const, checksumAlgorithm: null });
  const jobs = [store.insertJob(row(1), [{ partNumber: 1, offset: 0, length: 10 }]), store.insertJob(row(2), [{ partNumber: 1, offset: 0, length: 10 }])];
  db.close();

  const gate = new pg.Client({ connectionString: url });
  await gate.connect();
  try {
    const nodes = await Promise.all(jobs.map((j, i) => claimer(url, j.id, `node-${i}`)));
    await gate.query('BEGIN');
    await gate.query('LOCK TABLE jobs IN EXCLUSIVE MODE');
    const claims = nodes.map((n) => n.go());
    await until('both claims waiting on the server', async () => {
      const { rows } = await gate.query<{ n: string }>(`SELECT count(DISTINCT pid) AS n FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()`);
      return Number(rows[0]!.n) === 2;
    }, 30_000);
    await gate.query('COMMIT');
    const claimed = await Promise.all(claims);
    assert.deepEqual(claimed.filter(Boolean).length, 1, `claims: ${claimed.join(', ')}`);
    const { rows } = await gate.query<{ state: string }>('SELECT state FROM jobs ORDER BY state');
    assert.deepEqual(rows.map((r) => r.state), ['queued', 'running']);
  } finally {
    await gate.end();
  }
});
