// A write that returns the job row it wrote (store/rows.ts JOB_RETURNING; issue 12, job-row reads per
// frame): the claim's compare-and-set and a small file's end hand the scheduler the row as written, so
// it tells hosts of the job without reading it again. The row must be the one a read gives after it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { tempDir } from '../support/s3.js';

const destination = {
  name: 'frames', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 8 << 20,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

function frame() {
  const store = new JobStore(openDatabase(path.join(tempDir('job-row-returning'), 'hoist.db')).db);
  const d = store.upsertDestination(destination);
  const job = store.insertJob(
    { destinationId: d.id, sourcePath: '/frames/f1.dpx', bucket: 'bucket', key: 'f1.dpx', size: 10, mtimeMs: 1, inode: '1', contentType: 'image/x-dpx', mode: 'single', partSize: 10, priority: 'normal', checksumAlgorithm: null, hashAlgorithms: ['xxh64'] },
    [{ partNumber: 1, offset: 0, length: 10 }],
  );
  return { store, job };
}

test('a compare-and-set returning its row gives the row a read gives after it, or nothing when it did not apply', () => {
  const { store, job } = frame();
  assert.equal(store.transitionRow(job.id, ['running'], 'paused'), undefined, 'a queued job is not running');
  assert.equal(store.getJob(job.id)!.state, 'queued', 'nothing written');
  const claimed = store.transitionRow(job.id, ['queued'], 'running');
  assert.ok(claimed);
  assert.deepEqual(claimed, store.getJob(job.id));
  assert.equal(claimed.state, 'running');
  assert.equal(claimed.destination, 'frames', 'with the columns the row read joins');
  assert.notEqual(claimed.startedAt, null);
});

test("a small file's end returns the row it ended, as a read gives it after the commit; nothing when the job stopped meanwhile", () => {
  const { store, job } = frame();
  store.transition(job.id, ['queued'], 'running');
  store.markPartSending(job.id, 1);
  const proof = { etagVerified: true, integrity: 'ETag = MD5 of the bytes', proof: 'etag' as const };
  const done = { jobId: job.id, partNumber: 1, etag: 'abc', md5Hex: 'abc', checksum: null };
  const ended = store.finishSinglePut(done, { xxh64: '0123456789abcdef' }, 'Hashed.', { etag: 'abc', versionId: 'v1', message: 'Uploaded.', proof });
  assert.ok(ended);
  assert.deepEqual(ended, store.getJob(job.id));
  assert.equal(ended.state, 'done');
  assert.equal(ended.partsDone, 1, 'the part counted (a trigger on parts) before the row was returned');
  assert.deepEqual(ended.hashes, { xxh64: '0123456789abcdef' });
  assert.equal(ended.versionId, 'v1');

  const other = frame();
  other.store.transition(other.job.id, ['queued'], 'paused');
  const refused = other.store.finishSinglePut({ ...done, jobId: other.job.id }, { xxh64: '0123456789abcdef' }, 'Hashed.', { etag: 'abc', versionId: null, message: 'Uploaded.', proof });
  assert.equal(refused, undefined);
  assert.deepEqual(other.store.getJob(other.job.id)!.hashes, { xxh64: '0123456789abcdef' }, 'the hashes are kept');
});
