// The job store on PostgreSQL (issue 15): the same domain steps give the same records as on SQLite; a
// job goes end to end through the real engine with its queue on PostgreSQL against radosgw, and a
// second engine on the same database resumes it without sending a recorded part again; a server that
// cannot be reached is a clear, typed error without the password.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Db } from '../../src-main/engine/store/db.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { BatchStore } from '../../src-main/engine/store/batch-store.js';
import { FolderStore } from '../../src-main/engine/store/folder-store.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { OutboxStore } from '../../src-main/engine/store/outbox-store.js';
import { PacingStore } from '../../src-main/engine/store/pacing-store.js';
import { SettingsStore } from '../../src-main/engine/store/settings-store.js';
import { Engine } from '../../src-main/engine/engine.js';
import { MiB } from '../../shared/limits.js';
import { doneParts, until } from '../support/engine.js';
import { freshPgDatabase } from '../support/pg.js';
import { sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

// At the top, before any test: an after() hook registered once tests have started would never run (and
// the fixture's proxy would keep the process alive).
const { bucket, client, proxy } = await s3Fixture('pg-store', { proxy: true });

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 10, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

/**
 * Owed work's ids: an INSERT … ON CONFLICT DO NOTHING that does nothing still takes a number from
 * PostgreSQL's identity sequence (SQLite's rowid does not), so its ids may have gaps; nothing reads
 * meaning into them.
 */
function withoutId<T extends { id: number }>(r: T): Omit<T, 'id'> {
  const { id: _, ...rest } = r;
  return rest;
}

/** Domain steps across the store, on a clock of its own; returns what they answered and what the rows became. */
function scenario(db: Db, reopen: () => Db): Record<string, unknown> {
  let t = 1_700_000_000_000;
  const now = () => (t += 1000);
  const store = new JobStore(db, now);
  const folders = new FolderStore(db, now);
  const batches = new BatchStore(db, store.owed, now);
  const out: Record<string, unknown> = {};
  const d = store.upsertDestination(destination);
  const d2 = store.upsertDestination({ ...destination, name: 'second', bucket: 'other' });
  const job = (key: string, source: string, parts: number) =>
    store.insertJob(
      { destinationId: d.id, sourcePath: source, bucket: 'bucket', key, size: parts * 10, mtimeMs: 1234.5, inode: '7', contentType: 'video/mp4', mode: 'multipart', partSize: 10, priority: 'normal', checksumAlgorithm: null },
      Array.from({ length: parts }, (_, i) => ({ partNumber: i + 1, offset: i * 10, length: 10 })),
    );
  const a = job('Shoot/A001.mov', '/ingest/Shoot/A001.mov', 3);
  const b = job('Shoot/B002.MOV', '/ingest/Shoot/B002.MOV', 2);
  const c = job('other/c.wav', '/ingest/other/c.wav', 1);
  out.transitions = [store.transition(a.id, ['queued'], 'running'), store.transition(a.id, ['queued'], 'paused'), store.transition(b.id, ['queued'], 'running')];
  store.recordUploadCreated(a.id, 'upload-a', 'Upload started.');
  out.sending = [store.markPartSending(a.id, 1), store.markPartSending(a.id, 2)];
  store.markPartDone(a.id, 1, 'e1', 'md5-1', null);
  store.retryPartLater(a.id, 2, t + 5000, 'Part 2 failed; retrying.', { code: 'net.reset', operation: 'UploadPart' });
  store.markPartSending(b.id, 1);
  out.recovered = store.recoverInterrupted();
  store.saveHashCheckpoint(a.id, { size: 30, mtimeMs: 1234.5, inode: '7' }, ['xxh64'], { offset: 10, states: { xxh64: 'c3RhdGU=' } });
  out.checkpoint = store.hashCheckpoint(a.id, { size: 30, mtimeMs: 1234.5, inode: '7' }, ['xxh64']);
  store.transition(c.id, ['queued'], 'running');
  store.markPartSending(c.id, 1);
  store.markPartDone(c.id, 1, 'ec', 'md5-c', null);
  store.completeJob(c.id, ['running'], 'etag-c', 'Done.', { integrity: 'md5', proof: 'md5' } as never, null);
  store.queueRemoteAbort({ destinationId: d.id, bucket: 'bucket', key: 'k', uploadId: 'u1', jobId: a.id, reason: 'cancelled' });
  store.queueRemoteAbort({ destinationId: d.id, bucket: 'bucket', key: 'k', uploadId: 'u1', jobId: a.id, reason: 'cancelled' });
  out.dueAborts = store.dueRemoteAborts().map(withoutId);
  store.owed.owe('webhook', 'ev-1', { n: 1 }, { scope: 'https://example.test/hook' });
  store.owed.owe('webhook', 'ev-2', { n: 2 }, { scope: 'https://example.test/hook' });
  store.owed.owe('webhook', 'ev-1', { n: 5 }, { scope: 'https://example.test/hook', onConflict: 'replace' });
  out.claimed = store.owed.claim('webhook', 5, 'me', 60_000, { inOrder: true }).map(withoutId);
  out.claimedAgain = store.owed.claim('webhook', 5, 'other', 60_000).map(withoutId);
  out.owedCounts = store.owed.counts();

  const folder = folders.addFolder({ path: '/ingest', destinationIds: [d2.id, d.id], after: 'keep', moveTo: null, priority: 'high', prefix: 'in/', include: ['*.mov'], exclude: [], singlePutThreshold: null, ifExists: null, growing: false, stableMs: 3000, enabled: true, hashAlgorithms: ['xxh64'], mhl: false, webhookUrl: null });
  folders.recordFiles([
    { folderId: folder.id, destinationId: d.id, relPath: 'Shoot/A001.mov', key: 'Shoot/A001.mov', size: 30, mtimeMs: 1234.5, inode: '7', how: 'upload', jobId: a.id, etag: null },
    { folderId: folder.id, destinationId: d2.id, relPath: 'Shoot/A001.mov', key: 'Shoot/A001.mov', size: 30, mtimeMs: 1234.5, inode: '7', how: 'adopted', jobId: null, etag: 'x' },
  ]);
  out.folder = folders.getFolder(folder.id);
  out.files = folders.fileEverywhere(folder.id, 'Shoot/A001.mov');
  out.bySnapshot = folders.filesWithSnapshot(30, 1234.5, d.id);
  out.folderJobs = [folders.activeJobCount(folder.id), folders.unfinishedJobIds(folder.id)];

  const batch = batches.batchFor({ destinationId: d.id, root: '/ingest', bucket: 'bucket', keyPrefix: 'in/', folderId: folder.id }, 'open');
  out.sameBatch = batches.batchFor({ destinationId: d.id, root: '/ingest', bucket: 'bucket', keyPrefix: 'in/', folderId: folder.id }, 'open').id === batch.id;
  const loose = batches.batchFor({ destinationId: d.id, root: '/x', bucket: 'bucket', keyPrefix: '', folderId: null }, 'open');
  out.looseAgain = batches.batchFor({ destinationId: d.id, root: '/x', bucket: 'bucket', keyPrefix: '', folderId: null }, 'open').id === loose.id;
  batches.setJobBatch(c.id, batch.id);
  out.sealed = batches.seal(batch.id);
  out.batches = batches.list();

  const settings = new SettingsStore(db, now);
  settings.save({ ...settings.get() });
  out.settings = settings.saved();
  const pacing = new PacingStore(db, now);
  pacing.setBandwidthLimit({ destinationId: null, bytesPerSecond: 5 * MiB, schedule: [] });
  pacing.setBandwidthLimit({ destinationId: d.id, bytesPerSecond: null, schedule: [{ from: '20:00', to: '06:00', bytesPerSecond: null }] });
  pacing.setConcurrencyBounds(d.id, { min: 1, max: 4 });
  out.pacing = [pacing.bandwidthLimits(), pacing.concurrencyBounds()];

  out.paused = store.bulk.pause([a.id, b.id, c.id, 999]);
  out.priority = store.bulk.setPriority([a.id, b.id], 'high');
  out.resumed = store.bulk.resume([a.id], ['paused']);
  out.cleared = store.bulk.clear([c.id]);
  out.searchLong = store.queryJobs({ search: 'b002.mov', cleared: true } as never).jobs.map((j) => j.id);
  out.searchShort = store.queryJobs({ search: 'a0' }).jobs.map((j) => j.id);
  out.byProgress = store.queryJobs({ sort: 'progress', descending: true }).jobs.map((j) => j.id);
  out.page = store.queryJobs({ limit: 1, offset: 1 });
  out.matching = store.bulk.idsMatching({ states: ['queued', 'paused'] });
  out.listed = store.listJobs({ ids: [a.id, c.id] });
  out.totals = store.totals();
  out.parts = [store.parts(a.id), store.parts(b.id), store.parts(c.id)];
  out.events = [a.id, b.id, c.id].map((id) => store.events(id));
  out.lease = [store.acquireLease('one', 60_000), store.acquireLease('two', 60_000)];
  out.cancel = store.cancelJob(store.getJob(b.id)!);
  // The webhook outbox reads its cursor row, which a new database must have (its first run on PostgreSQL had none).
  out.webhookEventsCollected = new OutboxStore(db, store.owed, now).collectSettledJobs(() => []);
  // What the scheduler polls to notice another process's commands.
  const version = store.dataVersion();
  const other = reopen();
  new JobStore(other, now).setPriority(a.id, 'low');
  other.close();
  out.otherWriterSeen = store.dataVersion() !== version;
  out.jobs = store.listJobs();
  // Writes that return the row they wrote (issue 12: job-row reads per frame): the row a read gives after each.
  const e = job('Shoot/E005.mov', '/ingest/Shoot/E005.mov', 1);
  out.claimedRow = [store.transitionRow(e.id, ['queued'], 'running'), store.getJob(e.id)];
  store.markPartSending(e.id, 1);
  const proof = { etagVerified: true, integrity: 'ETag = MD5', proof: 'etag' } as const;
  const ended = store.finishSinglePut({ jobId: e.id, partNumber: 1, etag: 'ee', md5Hex: 'ee', checksum: null }, { xxh64: '00ff' }, 'Hashed.', { etag: 'ee', versionId: null, message: 'Done.', proof });
  out.endedRow = [ended, store.getJob(e.id)];
  return out;
}

test('the same domain steps give the same records on SQLite and on PostgreSQL', () => {
  const file = path.join(tempDir('pg-store'), 'hoist.db');
  const url = freshPgDatabase('parity');
  const sqlite = openDatabase(file).db;
  const pg = openDatabase(url).db;
  try {
    assert.equal(pg.dialect, 'pg');
    const onSqlite = scenario(sqlite, () => openDatabase(file).db);
    const onPg = scenario(pg, () => openDatabase(url).db);
    // What the steps must have done at all, so equal answers are not two empty ones.
    assert.ok((onSqlite.recovered as number) > 0);
    assert.equal(onSqlite.otherWriterSeen, true);
    assert.deepEqual(onSqlite.searchLong, [2]);
    assert.equal((onSqlite.claimed as unknown[]).length, 1, 'in order: the oldest of its scope');
    for (const key of Object.keys(onSqlite)) assert.deepEqual(onPg[key], onSqlite[key], key);
    for (const key of ['claimedRow', 'endedRow']) {
      const [returned, read] = onPg[key] as unknown[];
      assert.ok(returned, key);
      assert.deepEqual(returned, read, `${key}: the row returned is the row read after it`);
    }
  } finally {
    sqlite.close();
    pg.close();
  }
});

test('a database server that cannot be reached is a clear error without the password', () => {
  // A port nothing listens on, on loopback: refused at once.
  const url = 'postgres://hoist:s3cret-pass@127.0.0.1:1/hoist';
  assert.throws(
    () => openDatabase(url),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'store.unreachable');
      assert.equal(err.message, 'Cannot reach the job database at postgres://hoist@127.0.0.1:1/hoist: connection refused');
      assert.ok(!err.message.includes('s3cret'));
      return true;
    },
  );
});

test('a connection lost mid-run: the failing call throws store.unreachable, the transaction it cut is gone, the next call connects again', () => {
  const url = freshPgDatabase('lost');
  const db = openDatabase(url).db;
  const admin = openDatabase(url).db;
  try {
    const store = new JobStore(db);
    const before = store.listDestinations().length;
    const pid = (db.prepare('SELECT pg_backend_pid() AS pid').get() as { pid: number }).pid;
    assert.throws(
      () =>
        store.atomically(() => {
          store.upsertDestination(destination);
          admin.prepare('SELECT pg_terminate_backend(?)').get(pid);
          // Time for the bridge's worker to see the session end while idle (the harder case: it must not reconnect mid-transaction).
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
          store.upsertDestination({ ...destination, name: 'after' });
        }),
      (err: Error & { code?: string }) => err.code === 'store.unreachable' && err.message.startsWith(`Cannot reach the job database at ${url}`),
    );
    assert.equal(store.listDestinations().length, before, 'the cut transaction left nothing');
    store.upsertDestination(destination);
    assert.equal(store.listDestinations().length, before + 1, 'the next call connected again');
  } finally {
    db.close();
    admin.close();
  }
});


function engineOn(url: string): Engine {
  return new Engine({ dbPath: url, scheduler: { tickMs: 50, retry: { baseDelayMs: 50, maxDelayMs: 500 } } });
}

test('a job goes end to end with its queue on PostgreSQL; a second engine on the same database sends no recorded part again', async () => {
  const dir = tempDir('pg-e2e');
  const file = await writeRandomFile(path.join(dir, 'clip.mov'), 40 * MiB);
  const url = freshPgDatabase('e2e');
  proxy.reset();
  proxy.setBandwidth(10 * MiB);
  const first = engineOn(url);
  const dest = first.upsertDestination({ ...destination, name: 'rgw', endpoint: proxy.url, bucket, partSize: 5 * MiB, singlePutThreshold: 0 });
  const [job] = await first.enqueue([file], { destination: dest, key: 'pg/clip.mov' });
  first.start();
  await until('3 parts recorded', () => doneParts(first, job!.id).length >= 3);
  await first.close();
  const peek = engineOn(url);
  const recorded = doneParts(peek, job!.id);
  await peek.close();
  const sentBefore = proxy.uploadPartNumbers().length;
  proxy.setBandwidth(null);

  const second = engineOn(url);
  try {
    second.start();
    const [final] = await second.waitFor([job!.id]);
    assert.equal(final!.state, 'done');
    const resent = proxy.uploadPartNumbers().slice(sentBefore).filter((n) => recorded.includes(n));
    assert.deepEqual(resent, [], 'no recorded part is sent again');
    assert.equal(await sha256OfObject(client, bucket, 'pg/clip.mov'), await sha256OfFile(file));
  } finally {
    await second.close();
  }
});
