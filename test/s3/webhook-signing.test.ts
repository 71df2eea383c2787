// Webhook events signed with the folder's secret: HMAC-SHA256 over `<timestamp>.<raw body>` in
// X-Hoist-Signature, beside X-Hoist-Timestamp. The receiver (test/support/webhook-receiver.ts)
// checks them as docs/webhooks.md tells a receiver to, with the secret `hoist folders
// webhook-secret` shows; the secret is never in the database, its WAL or the recovery file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { startWatching } from '../support/watch.js';
import { WebhookReceiver, verifySignature, type ReceivedHook } from '../support/webhook-receiver.js';

const { bucket } = await s3Fixture('hook-signing');

async function secretOf(db: string, folderId: number, ...flags: string[]): Promise<string> {
  const r = await hoist(['--db', db, 'folders', 'webhook-secret', String(folderId), ...flags, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { folderId: number; secret: string; algorithm: string; signatureHeader: string; timestampHeader: string };
  assert.deepEqual({ ...out, secret: '' }, { folderId, secret: '', algorithm: 'hmac-sha256', signatureHeader: 'X-Hoist-Signature', timestampHeader: 'X-Hoist-Timestamp' });
  return out.secret;
}

function jobDone(receiver: WebhookReceiver, key: string): ReceivedHook | undefined {
  return receiver.received.find((r) => r.kind === 'job.done' && (r.body.job as { key: string }).key === key);
}

/** Every byte the database keeps on disk next to it: the file, its WAL, the recovery file. */
function storedBytes(db: string): string {
  return ['', '-wal', '.recovery.json'].map((s) => (fs.existsSync(db + s) ? fs.readFileSync(db + s).toString('latin1') : '')).join('');
}

test('a folder’s events are signed with its secret (shown by hoist folders webhook-secret), checked by the receiver; the secret is stored sealed; --rotate signs the next with a new one', async () => {
  const dir = tempDir('hook-signing');
  const db = path.join(dir, 'hoist.db');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const receiver = new WebhookReceiver();
  await receiver.start();
  const rig = await startWatching(dir, watched, { endpoint: s3Env().endpoint, bucket, prefix: 'signed' }, { webhookUrl: receiver.url }, { batchSettleMs: 500 });
  try {
    const secret = await secretOf(db, rig.folder.id);
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.equal(await secretOf(db, rig.folder.id), secret, 'shown again, the same secret');

    await writeRandomFile(path.join(watched, 'A001_C001.mov'), 256 * 1024);
    const event = await until('job.done', () => jobDone(receiver, 'signed/A001_C001.mov'));
    assert.match(event.timestamp ?? '', /^\d+$/, 'X-Hoist-Timestamp: seconds since 1970');
    assert.ok(verifySignature(secret, event), `X-Hoist-Signature ${event.signature} verifies with the folder's secret`);
    assert.ok(!verifySignature(secret, { ...event, raw: event.raw.replace('A001_C001', 'A001_C002') }), 'a changed body does not verify');
    assert.ok(!verifySignature(secret, { ...event, timestamp: String(Number(event.timestamp) - 3600) }), 'nor does another timestamp (a replay dated anew)');
    assert.ok(!verifySignature(`${secret}x`, event), 'nor another secret');

    // Sealed at rest: neither the database, its WAL nor the recovery file holds the secret; the key file is the owner's alone.
    assert.ok(!storedBytes(db).includes(secret), 'the secret is not stored in plain text');
    assert.equal(fs.statSync(`${db}.key`).mode & 0o777, 0o600);

    const rotated = await secretOf(db, rig.folder.id, '--rotate');
    assert.notEqual(rotated, secret);
    await writeRandomFile(path.join(watched, 'A001_C002.mov'), 256 * 1024);
    const next = await until('the next job.done', () => jobDone(receiver, 'signed/A001_C002.mov'));
    assert.ok(verifySignature(rotated, next), 'the next event is signed with the new secret');
    assert.ok(!verifySignature(secret, next), 'and no longer with the old one');
    assert.ok(receiver.received.every((r) => r.signature !== undefined), 'every event (the batches too) is signed');
    assert.ok(!storedBytes(db).includes(rotated));
    recordResult('webhook-signing', {
      what: 'a watched folder’s webhook events (job.done, batch.done) checked by a receiver with the secret hoist folders webhook-secret shows; body, timestamp and secret altered; --rotate',
      outcome: `all ${receiver.received.length} events carried X-Hoist-Timestamp and X-Hoist-Signature that verified; an altered body, timestamp or secret did not; not in the database, WAL or recovery file; after --rotate the next event verified only with the new secret`,
    });
  } finally {
    await rig.stop();
    await receiver.stop();
  }
});

test('the secret is made when a folder gets its webhook (hoist folders add --webhook, hoist folders webhook), before any event', async () => {
  const dir = tempDir('hook-secret-cli');
  const db = path.join(dir, 'hoist.db');
  const cli = ['--db', db, '--endpoint', s3Env().endpoint, '--path-style'];
  const sealedOf = (id: number) => {
    const ro = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (ro.prepare('SELECT webhook_secret FROM watched_folders WHERE id = ?').get(id) as { webhook_secret: string | null }).webhook_secret;
    } finally {
      ro.close();
    }
  };
  for (const name of ['with', 'without']) fs.mkdirSync(path.join(dir, name));
  const withHook = await hoist([...cli, 'folders', 'add', path.join(dir, 'with'), '--bucket', bucket, '--webhook', 'https://hooks.example.com/hoist', '--json']);
  assert.equal(withHook.code, 0, withHook.stderr);
  const first = (JSON.parse(withHook.stdout) as { folder: { id: number } }).folder.id;
  assert.match(sealedOf(first) ?? '', /^v1:/, 'made with the folder, stored sealed');

  const without = await hoist([...cli, 'folders', 'add', path.join(dir, 'without'), '--bucket', bucket, '--json']);
  const second = (JSON.parse(without.stdout) as { folder: { id: number } }).folder.id;
  assert.equal(sealedOf(second), null, 'no webhook, no secret');
  const set = await hoist([...cli, 'folders', 'webhook', String(second), 'https://hooks.example.com/other']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stderr, new RegExp(`hoist folders webhook-secret ${second}`));
  assert.match(sealedOf(second) ?? '', /^v1:/);
  assert.notEqual(await secretOf(db, first), await secretOf(db, second), 'each folder its own');

  // A damaged database is rebuilt from the recovery file, which keeps the secret sealed: the receiver needs no new one.
  const before = await secretOf(db, first);
  const recovery = JSON.parse(fs.readFileSync(`${db}.recovery.json`, 'utf8')) as { folders: Array<{ id: number; webhookSecret: string | null }> };
  assert.equal(recovery.folders.find((f) => f.id === first)?.webhookSecret, sealedOf(first), 'the recovery file holds it sealed');
  for (const suffix of ['-wal', '-shm']) fs.rmSync(db + suffix, { force: true });
  fs.writeFileSync(db, Buffer.alloc(64 * 1024, 0x5a));
  assert.equal(await secretOf(db, first), before, 'the same secret after the rebuild');

  const missing = await hoist([...cli, 'folders', 'webhook-secret', '99']);
  assert.equal(missing.code, 2, 'a usage error, as for every config.invalid');
  assert.match(missing.stderr, /config\.invalid: There is no watched folder 99/);
});
