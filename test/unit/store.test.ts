import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src-main/engine/store/migrations.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { FolderStore } from '../../src-main/engine/store/folder-store.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { tempDir } from '../support/s3.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

function newStore(dir: string): JobStore {
  return new JobStore(openDatabase(path.join(dir, 'hoist.db')).db);
}

function addJob(store: JobStore, parts = 3) {
  const d = store.upsertDestination(destination);
  return store.insertJob(
    { destinationId: d.id, sourcePath: '/x', bucket: 'bucket', key: 'k', size: parts * 10, mtimeMs: 1, inode: '1', contentType: 'video/mp4', mode: 'multipart', partSize: 10, priority: 'normal', checksumAlgorithm: null },
    Array.from({ length: parts }, (_, i) => ({ partNumber: i + 1, offset: i * 10, length: 10 })),
  );
}

test('a new database is in WAL mode at the latest schema version', () => {
  const dir = tempDir('store');
  const { db } = openDatabase(path.join(dir, 'hoist.db'));
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  db.close();
});

test('a database from a newer Hoist is refused, not downgraded', () => {
  const dir = tempDir('store');
  const file = path.join(dir, 'hoist.db');
  const raw = new Database(file);
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  raw.close();
  assert.throws(() => openDatabase(file), /newer Hoist/);
});

test('a damaged database file is moved aside, never deleted, and a fresh one created', () => {
  const dir = tempDir('store');
  const file = path.join(dir, 'hoist.db');
  fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
  const { db, movedAside } = openDatabase(file);
  assert.ok(movedAside, 'reports where the damaged file went');
  assert.deepEqual(fs.readFileSync(movedAside!), Buffer.alloc(8192, 0x5a), 'the damaged bytes are kept');
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  db.close();
});

test('state changes are compare-and-set: a pause is never overwritten by a stale transition', () => {
  const store = newStore(tempDir('store'));
  const job = addJob(store);
  assert.ok(store.transition(job.id, ['queued'], 'running'));
  assert.ok(store.transition(job.id, ['running'], 'paused'));
  assert.equal(store.transition(job.id, ['running'], 'completing'), false);
  assert.equal(store.getJob(job.id)!.state, 'paused');
});

test('after a crash, running jobs are queued again and parts in flight wait to be re-sent; done parts stay done', () => {
  const store = newStore(tempDir('store'));
  const job = addJob(store);
  store.transition(job.id, ['queued'], 'running');
  store.markPartSending(job.id, 1);
  store.markPartDone(job.id, 1, 'e1', 'e1', null);
  store.markPartSending(job.id, 2);
  assert.equal(store.recoverInterrupted(), 1);
  assert.equal(store.getJob(job.id)!.state, 'queued');
  assert.deepEqual(store.parts(job.id).map((p) => p.state), ['done', 'pending', 'pending']);
  assert.equal(store.getJob(job.id)!.bytesDone, 10);
});

test('one runner at a time holds the lease; a dead holder on this host is replaced at once', () => {
  const store = newStore(tempDir('store'));
  assert.deepEqual(store.acquireLease('a', 60_000), { ok: true });
  const other = store.acquireLease('b', 60_000);
  assert.equal(other.ok, false);
  // A pid that cannot be alive: the lease is taken over.
  store.db.prepare('UPDATE runner_lease SET pid = ?').run(2 ** 22 + 12345);
  assert.deepEqual(store.acquireLease('b', 60_000), { ok: true });
});

test('remote aborts owed are kept until done, once per upload id', () => {
  const store = newStore(tempDir('store'));
  const job = addJob(store);
  const a = { destinationId: job.destinationId, bucket: 'bucket', key: 'k', uploadId: 'u1', jobId: job.id, reason: 'cancelled' };
  store.queueRemoteAbort(a);
  store.queueRemoteAbort(a);
  const due = store.dueRemoteAborts();
  assert.equal(due.length, 1);
  store.remoteAbortFailed(due[0]!.id, 'net.unreachable', Date.now() + 60_000);
  assert.equal(store.dueRemoteAborts().length, 0, 'waits for its back-off');
  assert.deepEqual([...store.pendingAbortUploadIds()], ['u1']);
});

test('a destination that a watched folder sends to cannot be removed; the folder is named as the reason', () => {
  const store = newStore(tempDir('store'));
  const first = store.upsertDestination(destination);
  const d = store.upsertDestination({ ...destination, name: 'second' });
  const folders = new FolderStore(store.db);
  const folder = folders.addFolder({ path: '/ingest', destinationIds: [first.id, d.id], after: 'keep', moveTo: null, priority: 'normal', prefix: '', include: [], exclude: [], singlePutThreshold: null, ifExists: null, growing: false, stableMs: 3000, enabled: true, hashAlgorithms: ['xxh64'], mhl: false, webhookUrl: null });
  // The second destination of a folder counts as much as its first.
  assert.deepEqual(store.removeDestination(d.id), { ok: false, unfinishedJobIds: [], owedAborts: 0, folders: [{ id: folder.id, path: '/ingest' }] });
  assert.ok(store.getDestination(d.id), 'still there');
  folders.removeFolder(folder.id);
  assert.deepEqual(store.removeDestination(d.id), { ok: true });
});

test('the migration to several destinations carries a single-destination folder and its file records forward', () => {
  const dir = tempDir('store-migrate');
  const file = path.join(dir, 'hoist.db');
  const raw = new Database(file);
  raw.pragma('foreign_keys = ON');
  // The schema as Hoist shipped it before several destinations per folder.
  for (const sql of MIGRATIONS.slice(0, 2)) raw.exec(sql);
  raw.pragma('user_version = 2');
  raw.prepare(`INSERT INTO destinations (name, region, bucket, part_size, concurrency, single_put_threshold, max_object_size, created_at)
               VALUES ('footage', 'us-east-1', 'footage', 5242880, 4, 0, 1099511627776, 0)`).run();
  raw.prepare(`INSERT INTO watched_folders (path, destination_id, prefix, stable_ms, created_at) VALUES ('/offload', 1, 'day01', 3000, 0)`).run();
  raw.prepare(`INSERT INTO watched_files (folder_id, rel_path, key, size, mtime_ms, inode, how, job_id, etag, updated_at)
               VALUES (1, 'A001/C001.mov', 'day01/A001/C001.mov', 10, 1.5, '77', 'adopted', NULL, 'abc', 0)`).run();
  raw.close();

  const db = openDatabase(file).db;
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const folders = new FolderStore(db);
  const [folder] = folders.listFolders();
  assert.deepEqual({ destinationId: folder!.destinationId, destinationIds: folder!.destinationIds, after: folder!.after, moveTo: folder!.moveTo, priority: folder!.priority, prefix: folder!.prefix }, { destinationId: 1, destinationIds: [1], after: 'keep', moveTo: null, priority: 'normal', prefix: 'day01' });
  const record = folders.file(folder!.id, 1, 'A001/C001.mov');
  assert.deepEqual(record && { key: record.key, size: record.size, mtimeMs: record.mtimeMs, inode: record.inode, how: record.how, etag: record.etag }, { key: 'day01/A001/C001.mov', size: 10, mtimeMs: 1.5, inode: '77', how: 'adopted', etag: 'abc' });
  assert.equal(new JobStore(db).getDestination(1)!.credentials, 'chain');
  db.close();
});

test('a hash checkpoint counts only for the snapshot and hashes it was taken with, and goes with its job', () => {
  const store = newStore(tempDir('store'));
  const job = addJob(store);
  const snap = { size: job.size, mtimeMs: job.mtimeMs, inode: job.inode };
  const cp = { offset: 10, states: { xxh64: 'AAAA' } };
  store.saveHashCheckpoint(job.id, snap, ['xxh64'], cp);
  assert.deepEqual(store.hashCheckpoint(job.id, snap, ['xxh64']), cp);
  assert.equal(store.hashCheckpoint(job.id, { ...snap, mtimeMs: snap.mtimeMs + 1 }, ['xxh64']), null, 'the file was touched');
  assert.equal(store.hashCheckpoint(job.id, { ...snap, inode: '2' }, ['xxh64']), null, 'another file under the same name');
  assert.equal(store.hashCheckpoint(job.id, snap, ['xxh64', 'xxh128']), null, 'other hashes asked for');
  store.saveHashCheckpoint(job.id, snap, ['xxh64'], { offset: 20, states: { xxh64: 'BBBB' } });
  assert.deepEqual(store.hashCheckpoint(job.id, snap, ['xxh64']), { offset: 20, states: { xxh64: 'BBBB' } }, 'a later checkpoint replaces the earlier');
  assert.throws(() => store.saveHashCheckpoint(job.id, snap, ['xxh64'], { offset: job.size, states: {} }), /CHECK constraint/, 'a finished pass is no checkpoint');
  store.clearHashCheckpoint(job.id);
  assert.equal(store.hashCheckpoint(job.id, snap, ['xxh64']), null);
  store.saveHashCheckpoint(job.id, snap, ['xxh64'], cp);
  store.db.prepare('DELETE FROM jobs WHERE id = ?').run(job.id);
  assert.equal((store.db.prepare('SELECT count(*) AS n FROM hash_checkpoints').get() as { n: number }).n, 0, 'deleted with its job');
});

test('stopping puts back only the jobs this process had open: another may be working the rest', () => {
  const store = newStore(tempDir('store'));
  const ours = addJob(store);
  const theirs = addJob(store);
  for (const job of [ours, theirs]) {
    assert.ok(store.transition(job.id, ['queued'], 'running'));
    assert.ok(store.markPartSending(job.id, 1));
  }
  assert.equal(store.recoverInterrupted([ours.id]), 1);
  assert.equal(store.getJob(ours.id)!.state, 'queued');
  assert.equal(store.parts(ours.id)[0]!.state, 'pending');
  assert.equal(store.getJob(theirs.id)!.state, 'running', "the other process's job keeps its state");
  assert.equal(store.parts(theirs.id)[0]!.state, 'sending', 'and its part on the wire stays marked so');
  assert.equal(store.recoverInterrupted(), 1, 'at start, after a crash, every job in flight is put back');
  assert.equal(store.parts(theirs.id)[0]!.state, 'pending');
});
