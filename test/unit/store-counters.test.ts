// Each job's done parts and bytes are kept in the jobs row by triggers (so a page of 100,000 jobs reads no
// parts): they must follow every way a part changes, and a database from before them must get them right.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { MIGRATIONS } from '../../src-main/engine/store/migrations.js';
import { tempDir } from '../support/s3.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

function counted(store: JobStore, jobId: number): { partsDone: number; bytesDone: number } {
  const j = store.getJob(jobId)!;
  return { partsDone: j.partsDone, bytesDone: j.bytesDone };
}

/** What the parts table itself says, the truth the counters must equal. */
function recount(store: JobStore, jobId: number): { partsDone: number; bytesDone: number } {
  const done = store.parts(jobId).filter((p) => p.state === 'done');
  return { partsDone: done.length, bytesDone: done.reduce((n, p) => n + p.length, 0) };
}

test('done counters follow parts done, re-sent, reset, replanned and grown', () => {
  const store = new JobStore(openDatabase(path.join(tempDir('counters'), 'hoist.db')).db);
  const d = store.upsertDestination(destination);
  const job = store.insertJob(
    { destinationId: d.id, sourcePath: '/x', bucket: 'bucket', key: 'k', size: 30, mtimeMs: 1, inode: '1', contentType: 'video/mp4', mode: 'multipart', partSize: 10, priority: 'normal', checksumAlgorithm: null, growing: 1 },
    [1, 2, 3].map((n) => ({ partNumber: n, offset: (n - 1) * 10, length: n === 3 ? 7 : 10 })),
  );
  const check = (what: string, expected: { partsDone: number; bytesDone: number }) => {
    assert.deepEqual(counted(store, job.id), recount(store, job.id), `${what}: the counters equal the parts table`);
    assert.deepEqual(counted(store, job.id), expected, what);
  };
  check('new', { partsDone: 0, bytesDone: 0 });
  for (const n of [1, 3]) {
    store.markPartSending(job.id, n);
    store.markPartDone(job.id, n, 'e', MD5, null);
  }
  check('two parts done', { partsDone: 2, bytesDone: 17 });
  store.markPartDone(job.id, 3, 'e2', MD5, null);
  check('a done part recorded again', { partsDone: 2, bytesDone: 17 });
  store.resendPart(job.id, 1);
  check('a part to be sent again', { partsDone: 1, bytesDone: 7 });
  store.markPartSending(job.id, 2);
  store.markPartPending(job.id, 2);
  check('a part back to waiting', { partsDone: 1, bytesDone: 7 });
  assert.ok(store.appendGrowingParts(job.id, [{ partNumber: 4, offset: 30, length: 10 }], { size: 40, mtimeMs: 2 }));
  check('a grown file with one more part', { partsDone: 1, bytesDone: 7 });
  store.resetParts(job.id);
  check('all parts reset (upload lost)', { partsDone: 0, bytesDone: 0 });
  store.markPartSending(job.id, 4);
  store.markPartDone(job.id, 4, 'e', MD5, null);
  store.replanJob(job.id, { size: 25, mtimeMs: 3, inode: '2', mode: 'multipart', partSize: 10 }, [1, 2, 3].map((n) => ({ partNumber: n, offset: (n - 1) * 10, length: n === 3 ? 5 : 10 })));
  check('replanned after a source change', { partsDone: 0, bytesDone: 0 });
  store.db.prepare('DELETE FROM jobs WHERE id = ?').run(job.id);
  assert.equal(store.getJob(job.id), undefined);
});

test('a database from before the counters gets them filled in from its parts', () => {
  const file = path.join(tempDir('counters-upgrade'), 'hoist.db');
  const raw = new Database(file);
  const before = MIGRATIONS.findIndex((m) => m.includes('parts_done'));
  assert.ok(before > 0, 'the counters come with a migration of their own');
  for (let v = 0; v < before; v++) raw.exec(MIGRATIONS[v]!);
  raw.pragma(`user_version = ${before}`);
  raw.prepare(`INSERT INTO destinations (id, name, region, bucket, part_size, concurrency, single_put_threshold, max_object_size, created_at)
               VALUES (1, 'd', 'us-east-1', 'b', 10, 2, 0, 1000000, 0)`).run();
  for (const id of [1, 2]) {
    raw.prepare(`INSERT INTO jobs (id, destination_id, source_path, bucket, key, size, mtime_ms, inode, content_type, mode, part_size, part_count, state, created_at, updated_at)
                 VALUES (?, 1, '/x', 'b', ?, 30, 1, '1', 'video/mp4', 'multipart', 10, 3, 'running', 0, 0)`).run(id, `k${id}`);
  }
  const part = raw.prepare(`INSERT INTO parts (job_id, part_number, offset, length, state, updated_at) VALUES (?, ?, ?, ?, ?, 0)`);
  part.run(1, 1, 0, 10, 'done');
  part.run(1, 2, 10, 10, 'sending');
  part.run(1, 3, 20, 9, 'done');
  part.run(2, 1, 0, 10, 'pending');
  raw.close();
  const store = new JobStore(openDatabase(file).db);
  assert.deepEqual(counted(store, 1), { partsDone: 2, bytesDone: 19 });
  assert.deepEqual(counted(store, 2), { partsDone: 0, bytesDone: 0 });
  assert.deepEqual(store.totals(), { byState: { running: 2 }, bytesTotal: 60, bytesDone: 19 });
});
