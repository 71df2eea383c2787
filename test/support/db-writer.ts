// A child process that writes the job database as the scheduler does, as fast as it can, until it is killed.
// Usage: node db-writer.js DB. Prints `done <job> <part>` only after the row is committed.
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';

const file = process.argv[2]!;
const { db } = openDatabase(file);
const store = new JobStore(db);
const dest = store.upsertDestination({
  name: 'writer', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'b', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 * 2 ** 20, concurrency: 4, singlePutThreshold: 0,
  maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
});
for (;;) {
  let job = store.listJobs({ states: ['queued'] })[0];
  if (!job) {
    // A big transaction too: a new job with 2,000 parts, so some kills land inside a multi-page write.
    const parts = Array.from({ length: 2000 }, (_, i) => ({ partNumber: i + 1, offset: i * 5 * 2 ** 20, length: 5 * 2 ** 20 }));
    job = store.insertJob({ destinationId: dest.id, sourcePath: `/media/clip-${Date.now()}.mov`, bucket: 'b', key: `k/${Date.now()}`, size: parts.length * 5 * 2 ** 20,
      mtimeMs: 0, inode: '1', contentType: 'video/quicktime', mode: 'multipart', partSize: 5 * 2 ** 20, priority: 'normal', checksumAlgorithm: null }, parts);
  }
  const pending = store.nextPendingParts(job.id, 1)[0];
  if (!pending) {
    store.transition(job.id, ['queued'], 'done');
    continue;
  }
  store.markPartSending(job.id, pending.partNumber);
  store.markPartDone(job.id, pending.partNumber, `"${'e'.repeat(32)}"`, 'e'.repeat(32), null);
  store.addEvent(job.id, 'part-done', `part ${pending.partNumber} done`);
  process.stdout.write(`done ${job.id} ${pending.partNumber}\n`);
}
