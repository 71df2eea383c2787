// A database as the release before the owed-work queue made it (schema 8), with something owed in
// each of its four queues, written with the SQL that release ran: opened by this Hoist, every item
// keeps its attempts, next attempt and last error, and is still delivered. The abort reaches the
// server (the upload is gone), the clean-up deletes the file, the webhook event reaches a receiver
// under its id, the ASC MHL generation is written.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MIGRATIONS } from '../../src-main/engine/store/migrations.js';
import { OwedWorkStore } from '../../src-main/engine/store/owed-store.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { testEngine, until } from '../support/engine.js';
import { downloadPrefix, toolHash } from '../support/mhl.js';
import { createBucket, listUploads, removeBucket, s3Client, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const client = s3Client();
let bucket: string;

before(async () => {
  bucket = await createBucket(client, 'owed-migration');
});
after(async () => {
  await removeBucket(client, bucket);
});

/** The last schema before owed_work (migration 9). */
const OLD_SCHEMA = 8;

const md5 = (file: string) => crypto.createHash('md5').update(fs.readFileSync(file)).digest('hex');

test('a database from the release before the owed-work queue: its owed abort, clean-up, webhook event and ASC MHL write keep their retry state and are all delivered', { timeout: 5 * 60_000 }, async () => {
  assert.ok(MIGRATIONS.length > OLD_SCHEMA, 'this test is about the migration after schema 8');
  const dir = tempDir('owed-migration');
  const dbFile = path.join(dir, 'hoist.db');
  const watched = path.join(dir, 'card');
  const root = path.join(dir, 'B001');
  fs.mkdirSync(watched);
  fs.mkdirSync(root);
  const receiver = new WebhookReceiver();
  await receiver.start();
  const t0 = Date.now() - 60_000;
  const due = t0 + 1_000;

  // On the server: an upload we owe an abort, an object already holding the clip to clean up, the file a batch lists.
  const { UploadId: uploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'cancelled.mov' }));
  const clip = await writeRandomFile(path.join(watched, 'C001.mov'), 256 * 1024);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'card/C001.mov', Body: fs.readFileSync(clip) }));
  const listed = await writeRandomFile(path.join(root, 'a.mov'), 128 * 1024);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'mig/a.mov', Body: fs.readFileSync(listed) }));
  const xxh64 = toolHash('xxhsum', ['-H1', listed]);

  // The database as schema 8 has it, written with that release's statements.
  const raw = new Database(dbFile);
  raw.pragma('foreign_keys = ON');
  for (const sql of MIGRATIONS.slice(0, OLD_SCHEMA)) raw.exec(sql);
  raw.pragma(`user_version = ${OLD_SCHEMA}`);
  raw.prepare(`INSERT INTO destinations (name, region, bucket, part_size, concurrency, single_put_threshold, max_object_size, created_at)
               VALUES (?, 'us-east-1', ?, 5242880, 2, 0, 1099511627776, ?)`).run(`${bucket}@test`, bucket, t0);
  // 1. An abort owed (a cancel while the server could not be reached), tried twice.
  raw.prepare(`INSERT INTO remote_aborts (destination_id, bucket, key, upload_id, job_id, reason, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(upload_id) DO NOTHING`).run(1, bucket, 'cancelled.mov', uploadId, null, 'cancelled', t0);
  const abortRetry = raw.prepare('UPDATE remote_aborts SET attempts = attempts + 1, last_error = ?, available_at = ? WHERE id = ?');
  abortRetry.run('net.unreachable (AbortMultipartUpload): connect ECONNREFUSED', t0, 1);
  abortRetry.run('net.unreachable (AbortMultipartUpload): connect ECONNREFUSED', due, 1);
  // 2. A delete owed in a folder set to `after: delete`, whose file the bucket already held (adopted, ETag matched), tried three times.
  raw.prepare(`INSERT INTO watched_folders (path, destination_id, prefix, stable_ms, after_delivery, created_at) VALUES (?, 1, 'card', 300, 'delete', ?)`).run(watched, t0);
  raw.prepare('INSERT INTO folder_destinations (folder_id, destination_id, position) VALUES (1, 1, 0)').run();
  const st = fs.statSync(clip, { bigint: true });
  const snap = { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
  raw.prepare(`INSERT INTO watched_files (folder_id, destination_id, rel_path, key, size, mtime_ms, inode, how, job_id, etag, updated_at)
               VALUES (1, 1, 'C001.mov', 'card/C001.mov', ?, ?, ?, 'adopted', NULL, ?, ?)`).run(snap.size, snap.mtimeMs, snap.inode, `"${md5(clip)}"`, t0);
  raw.prepare(`INSERT INTO source_cleanups (folder_id, rel_path, size, mtime_ms, inode, created_at) VALUES (@folderId, @relPath, @size, @mtimeMs, @inode, @now)
               ON CONFLICT(folder_id, rel_path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, inode = excluded.inode,
                 attempts = CASE WHEN source_cleanups.inode = excluded.inode AND source_cleanups.mtime_ms = excluded.mtime_ms THEN source_cleanups.attempts ELSE 0 END`)
    .run({ folderId: 1, relPath: 'C001.mov', ...snap, now: t0 });
  const cleanupFailed = raw.prepare('UPDATE source_cleanups SET attempts = attempts + 1, last_error = ?, available_at = ? WHERE folder_id = ? AND rel_path = ?');
  for (let i = 0; i < 3; i++) cleanupFailed.run('cleanup.failed: Could not delete: EBUSY', due, 1, 'C001.mov');
  // 3. A webhook event owed (the receiver was down once) behind one delivered to the same URL.
  const insertEvent = raw.prepare(`INSERT INTO webhook_outbox (id, url, kind, payload, created_at, available_at) VALUES (?, ?, ?, ?, ?, 0)`);
  const deliveredId = crypto.randomUUID();
  const owedId = crypto.randomUUID();
  insertEvent.run(deliveredId, receiver.url, 'job.done', JSON.stringify({ id: deliveredId, type: 'job.done', text: 'delivered before' }), t0);
  raw.prepare('UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(t0, deliveredId);
  insertEvent.run(owedId, receiver.url, 'batch.done', JSON.stringify({ id: owedId, type: 'batch.done', text: 'owed across the upgrade' }), t0 + 1);
  raw.prepare('UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, available_at = ? WHERE id = ?').run('ECONNREFUSED', due, owedId);
  // 4. A sealed ASC MHL batch whose one job is done and whose generation write failed once (retryable).
  raw.prepare(`INSERT INTO mhl_batches (destination_id, root, bucket, key_prefix, folder_id, state, created_at, sealed_at, updated_at)
               VALUES (1, ?, ?, 'mig/', NULL, 'sealed', ?, ?, ?)`).run(root, bucket, t0, t0, t0);
  raw.prepare(`INSERT INTO jobs (destination_id, source_path, bucket, key, size, mtime_ms, inode, content_type, mode, part_size, part_count, state, etag,
                 created_at, finished_at, updated_at, hash_algorithms, hashes, mhl_root, mhl_path, batch_id)
               VALUES (1, ?, ?, 'mig/a.mov', ?, ?, '1', 'video/quicktime', 'single', ?, 1, 'done', ?, ?, ?, ?, '["xxh64"]', ?, ?, 'a.mov', 1)`)
    .run(listed, bucket, 128 * 1024, fs.statSync(listed).mtimeMs, 128 * 1024, `"${md5(listed)}"`, t0, t0, t0, JSON.stringify({ xxh64 }), root);
  raw.prepare(`UPDATE mhl_batches SET state = ?, error_code = ?, error_message = ?, attempts = attempts + 1, available_at = ?, updated_at = ? WHERE id = ?`)
    .run('sealed', 'net.unreachable', 'connect ECONNREFUSED', due, t0, 1);
  raw.close();

  // Opened by this Hoist: everything owed is in owed_work with its retry state, the old queues are gone.
  const { engine } = testEngine(dir, { endpoint: s3Env().endpoint, bucket });
  const watcher = new FolderWatcher(engine, { cleanupRetry: { baseDelayMs: 100, maxDelayMs: 300 } });
  try {
    const owed = new OwedWorkStore(engine.store.db);
    const state = (kind: string) => owed.list({ kind }).map((o) => ({ subject: o.subject, state: o.state, attempts: o.attempts, availableAt: o.availableAt, lastError: o.lastError }));
    assert.deepEqual(state('remote-abort'), [{ subject: uploadId, state: 'owed', attempts: 2, availableAt: due, lastError: 'net.unreachable (AbortMultipartUpload): connect ECONNREFUSED' }]);
    assert.deepEqual(state('source-cleanup'), [{ subject: '1:C001.mov', state: 'owed', attempts: 3, availableAt: due, lastError: 'cleanup.failed: Could not delete: EBUSY' }]);
    assert.deepEqual(state('webhook'), [
      { subject: deliveredId, state: 'done', attempts: 1, availableAt: 0, lastError: null },
      { subject: owedId, state: 'owed', attempts: 1, availableAt: due, lastError: 'ECONNREFUSED' },
    ]);
    assert.deepEqual(state('mhl-write'), [{ subject: '1', state: 'owed', attempts: 1, availableAt: due, lastError: 'net.unreachable: connect ECONNREFUSED' }]);
    assert.deepEqual(engine.owedAborts(0), [], 'no job owns the abort');
    assert.equal(engine.store.pendingAbortUploadIds().has(uploadId!), true);
    const batch = engine.batch(1)!;
    assert.deepEqual({ state: batch.state, attempts: batch.attempts, error: batch.error?.code }, { state: 'sealed', attempts: 1, error: 'net.unreachable' });
    assert.deepEqual(engine.webhooks.outbox.all().map((i) => [i.id, i.kind, i.deliveredAt !== null, i.attempts]), [[deliveredId, 'job.done', true, 1], [owedId, 'batch.done', false, 1]]);
    const tables = (engine.store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name);
    for (const gone of ['remote_aborts', 'source_cleanups', 'webhook_outbox']) assert.ok(!tables.includes(gone), `${gone} is gone`);

    // Worked: each is delivered.
    assert.equal(engine.start().ok, true);
    await watcher.start();
    await until('the owed abort to reach the server', async () => !(await listUploads(client, bucket)).some((u) => u.uploadId === uploadId));
    await until('the clean-up to delete the file', () => !fs.existsSync(clip));
    const [hook] = await until('the owed event at the receiver', () => receiver.received.filter((r) => r.id === owedId).length > 0 && receiver.received.filter((r) => r.id === owedId));
    assert.deepEqual({ kind: hook!.kind, attempt: hook!.attempt, text: hook!.body.text }, { kind: 'batch.done', attempt: 2, text: 'owed across the upgrade' }, 'the same event, its second attempt');
    assert.equal(receiver.received.filter((r) => r.id === deliveredId).length, 0, 'a delivered event is not sent again');
    const written = await until('the generation to be written', () => engine.batch(1)?.state === 'written' && engine.batch(1));
    assert.equal(written.generation, 1);
    const keys = await downloadPrefix(client, bucket, 'mig/ascmhl/', path.join(dir, 'ascmhl'));
    assert.equal(keys.filter((k) => k.endsWith('.mhl')).length, 1, keys.join(', '));
    assert.ok(keys.some((k) => k.endsWith('ascmhl_chain.xml')), keys.join(', '));
    const manifest = fs.readFileSync(path.join(dir, 'ascmhl', keys.find((k) => k.endsWith('.mhl'))!), 'utf8');
    assert.match(manifest, new RegExp(`<xxh64 action="original"[^>]*>${xxh64}</xxh64>`));

    // Settled where they were owed, each counting the attempt that succeeded.
    await until('everything settled', () => owed.count({ kind: 'remote-abort', states: ['owed'] }) + owed.count({ kind: 'source-cleanup', states: ['owed'] })
      + owed.count({ kind: 'webhook', states: ['owed'] }) + owed.count({ kind: 'mhl-write', states: ['owed'] }) === 0);
    assert.deepEqual(state('remote-abort').map((o) => [o.state, o.attempts]), [['done', 3]]);
    assert.deepEqual(state('source-cleanup').map((o) => [o.state, o.attempts]), [['done', 4]]);
    assert.deepEqual(state('mhl-write').map((o) => [o.state, o.attempts]), [['done', 2]]);
    assert.deepEqual(engine.listJobs().map((j) => engine.events(j.id).map((e) => e.kind)), [['mhl-written']]);
  } finally {
    await watcher.stop();
    await engine.close();
    await receiver.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
