// The shared queue's store side (issue 15): job claims with a lease, renewal, take-over of an expired
// lease, a start that leaves live nodes' jobs alone, and a watched file decided by two processes at
// once. Two connections on one SQLite file play two processes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { enqueueJobs } from '../../src-main/engine/enqueue.js';
import { SharedQueue } from '../../src-main/engine/scheduler/shared-queue.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { BatchStore } from '../../src-main/engine/store/batch-store.js';
import { FolderStore, type WatchedFileRecord } from '../../src-main/engine/store/folder-store.js';
import { JobStore, type NewJob, type PlannedPart } from '../../src-main/engine/store/job-store.js';
import { beginCopyJob } from '../../src-main/engine/store/watched-jobs.js';
import { tempDir } from '../support/s3.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

/** Two processes' stores on one database file, with a clock each test moves. */
function twoNodes(): { a: JobStore; b: JobStore; clock: { now: number }; file: string } {
  const file = path.join(tempDir('job-leases'), 'hoist.db');
  const clock = { now: 1_000_000 };
  const a = new JobStore(openDatabase(file).db, () => clock.now);
  const b = new JobStore(openDatabase(file).db, () => clock.now);
  return { a, b, clock, file };
}

/** A job's row and its three parts (an upload's, or a rename's copy). */
function jobRow(store: JobStore, key: string): [NewJob, PlannedPart[]] {
  const d = store.upsertDestination(destination);
  return [
    { destinationId: d.id, sourcePath: `/x/${key}`, bucket: 'bucket', key, size: 30, mtimeMs: 1, inode: '1', contentType: 'video/mp4', mode: 'multipart', partSize: 10, priority: 'normal', checksumAlgorithm: null },
    Array.from({ length: 3 }, (_, i) => ({ partNumber: i + 1, offset: i * 10, length: 10 })),
  ];
}

function addJob(store: JobStore, key = 'k') {
  return store.insertJob(...jobRow(store, key));
}

test('a queued job is claimed by one node only, with its lease; the node shows on the job while it runs', () => {
  const { a, b } = twoNodes();
  a.nodes.register('node-a');
  const job = addJob(a);
  assert.equal(a.claimJob(job.id, 'node-a', 5000), true);
  assert.equal(b.claimJob(job.id, 'node-b', 5000), false, 'the second claim finds it running');
  const seen = b.getJob(job.id)!;
  assert.equal(seen.state, 'running');
  assert.equal(seen.node?.pid, process.pid);
  assert.equal(seen.node?.local, true);
  assert.deepEqual(a.nodes.list(5000).map((n) => [n.id, n.holds, n.state]), [['node-a', 1, 'working']]);
});

test('one writer per key across nodes: a job is not claimed while another job for the same key runs under a live lease; it is once that one ends or its lease expires', () => {
  const { a, b, clock } = twoNodes();
  a.nodes.register('node-a');
  b.nodes.register('node-b');
  const first = addJob(a, 'A001.mov');
  const second = addJob(b, 'A001.mov');
  const other = addJob(b, 'A002.mov');
  assert.equal(a.claimJob(first.id, 'node-a', 5000), true);
  assert.equal(b.claimJob(second.id, 'node-b', 5000), false, 'node-a writes that key now');
  assert.equal(b.getJob(second.id)!.state, 'queued', 'left in the queue for later');
  assert.equal(b.claimJob(other.id, 'node-b', 5000), true, 'another key is free');
  // Ended: a job of the key done no longer holds it.
  const third = addJob(a, 'A002.mov');
  assert.equal(a.claimJob(third.id, 'node-a', 5000), false, 'node-b writes A002.mov');
  b.transition(other.id, ['running'], 'done');
  assert.equal(a.claimJob(third.id, 'node-a', 5000), true);
  // node-a stops renewing: its lease on A001.mov expires, and the key is free again (its job is taken over as any other).
  clock.now += 5001;
  assert.equal(b.claimJob(second.id, 'node-b', 5000), true);
});

test('an expired lease is taken over: the job queued again with its recorded parts kept and unsent ones waiting; the old holder learns it lost the job', () => {
  const { a, b, clock } = twoNodes();
  a.nodes.register('node-a');
  const job = addJob(a);
  const live = addJob(a, 'live');
  assert.ok(a.claimJob(job.id, 'node-a', 3000));
  a.markPartSending(job.id, 1);
  a.markPartDone(job.id, 1, '"e1"', 'e'.repeat(32), null);
  a.markPartSending(job.id, 2);
  assert.ok(b.claimJob(live.id, 'node-b', 3000));

  clock.now += 2000;
  assert.deepEqual(b.takeOverExpired(new Set()), [], 'a live lease is not taken');
  assert.deepEqual(b.renewJobLeases('node-b', [live.id], 3000), []);
  clock.now += 1500;
  assert.deepEqual(b.takeOverExpired(new Set([live.id])), [job.id], 'node-a renewed nothing for 3.5 s: its job is taken over; node-b renewed its own');
  const after = b.getJob(job.id)!;
  assert.equal(after.state, 'queued');
  assert.deepEqual(b.parts(job.id).map((p) => [p.partNumber, p.state]), [[1, 'done'], [2, 'pending'], [3, 'pending']]);
  assert.ok(b.hasEvent(job.id, 'taken-over'));
  assert.ok(b.claimJob(job.id, 'node-b', 3000));
  assert.deepEqual(a.renewJobLeases('node-a', [job.id], 3000), [job.id], 'node-a comes back: the job is no longer its own');
  assert.equal(a.releaseJobs('node-a', [job.id]), 0, 'and stopping does not put node-b’s job back in the queue');
  assert.equal(a.getJob(job.id)!.state, 'running');
});

test('a node that starts beside live nodes recovers only jobs whose lease expired; alone, every interrupted job', () => {
  const { a, b } = twoNodes();
  const job = addJob(a);
  assert.ok(a.claimJob(job.id, 'node-a', 30_000));
  new SharedQueue(b, { owner: 'node-b', machine: 'm', leaseMs: 30_000, liveOthers: () => 1 }).recoverAtStart();
  assert.equal(b.getJob(job.id)!.state, 'running', 'node-a’s live job is left alone');
  new SharedQueue(b, { owner: 'node-b', machine: 'm', leaseMs: 30_000, liveOthers: () => 0 }).recoverAtStart();
  assert.equal(b.getJob(job.id)!.state, 'queued', 'with no other node alive, it was interrupted');
});

test('two processes deciding one watched file at once make one job: the one that claims the file’s record second drops its decision', async () => {
  const { a, b, file } = twoNodes();
  const d = a.upsertDestination(destination);
  const folders = [new FolderStore(a.db), new FolderStore(b.db)] as const;
  const folder = folders[0].addFolder({ path: path.dirname(file), destinationIds: [d.id], after: 'keep', moveTo: null, priority: 'normal', prefix: '', include: [], exclude: [], singlePutThreshold: null, ifExists: null, growing: false, stableMs: 3000, enabled: true, hashAlgorithms: [], mhl: false, webhookUrl: null });
  const media = path.join(path.dirname(file), 'clip.mov');
  fs.writeFileSync(media, 'frames');
  const st = fs.statSync(media, { bigint: true });
  const record = (jobId: number): WatchedFileRecord => ({ folderId: folder.id, destinationId: d.id, relPath: 'clip.mov', key: 'clip.mov', size: 6, mtimeMs: Number(st.mtimeMs), inode: st.ino.toString(), how: 'upload', jobId, etag: null });
  // Both read the file's record (none yet) before deciding.
  const seenByA = folders[0].file(folder.id, d.id, 'clip.mov') ?? null;
  const seenByB = folders[1].file(folder.id, d.id, 'clip.mov') ?? null;
  const send = (store: JobStore, i: 0 | 1, seen: WatchedFileRecord | null) =>
    enqueueJobs({ store, batches: new BatchStore(store.db, store.owed), machine: 'm', resume: () => true }, [media], {
      destination: d, key: 'clip.mov', hashes: [], claim: (job) => folders[i].claimFile(seen, record(job.id)),
    });
  const first = await send(a, 0, seenByA);
  assert.equal(first.jobs.length, 1);
  // A's job finished before B got to its decision (a small file on a fast link).
  assert.ok(a.claimJob(first.jobs[0]!.id, 'node-a', 5000));
  a.completeJob(first.jobs[0]!.id, ['running'], '"etag"', 'done', { etagVerified: true, integrity: 'md5', proof: 'etag' });
  const second = await send(b, 1, seenByB);
  assert.deepEqual(second.jobs, [], 'no second job');
  assert.equal(a.listJobs().length, 1);
  assert.equal(folders[0].file(folder.id, d.id, 'clip.mov')!.jobId, first.jobs[0]!.id, 'the record is the first decision’s');
});

test('a rename’s server-side copy on a shared queue is held with its node’s lease: renewed with the node’s other jobs, taken over once the node stops renewing', () => {
  const { a, b, clock } = twoNodes();
  a.nodes.register('node-a');
  const [row, parts] = jobRow(a, 'renamed.mov');
  const copy = beginCopyJob(a, row, parts, 'copying server-side', { owner: 'node-a', leaseMs: 3000 });
  assert.equal(b.getJob(copy.id)!.state, 'running');
  assert.equal(b.getJob(copy.id)!.node?.pid, process.pid, 'the job names the node copying it');
  clock.now += 2000;
  a.renewJobLeases('node-a', [], 3000);
  clock.now += 2000;
  assert.deepEqual(b.takeOverExpired(new Set()), [], 'renewed by its node: not taken');
  clock.now += 3500;
  assert.deepEqual(b.takeOverExpired(new Set()), [copy.id], 'its node died mid-copy: another node takes the job over');
  assert.equal(b.getJob(copy.id)!.state, 'queued');
});

test('a full disk’s recovery on a shared queue puts back only the jobs this node held, with the parts that waited recorded; another node’s running job is left alone', () => {
  const { a, b } = twoNodes();
  const mine = addJob(a, 'mine');
  const theirs = addJob(a, 'theirs');
  assert.ok(a.claimJob(mine.id, 'node-a', 30_000));
  assert.ok(b.claimJob(theirs.id, 'node-b', 30_000));
  a.markPartSending(mine.id, 1);
  b.markPartSending(theirs.id, 1);
  const queue = new SharedQueue(a, { owner: 'node-a', machine: 'm', leaseMs: 30_000, liveOthers: () => 1 });
  queue.recordAndRecover([{ jobId: mine.id, partNumber: 1, etag: '"e1"', md5Hex: 'e'.repeat(32), checksum: null }], [mine.id]);
  assert.equal(a.getJob(mine.id)!.state, 'queued');
  assert.deepEqual(a.parts(mine.id).map((p) => p.state), ['done', 'pending', 'pending'], 'the part acknowledged while the disk was full is recorded');
  const other = a.getJob(theirs.id)!;
  assert.deepEqual([other.state, a.parts(theirs.id)[0]!.state], ['running', 'sending'], 'node-b’s job and its part on the wire are untouched');
  assert.deepEqual(b.renewJobLeases('node-b', [theirs.id], 30_000), [], 'node-b still holds it');
});
