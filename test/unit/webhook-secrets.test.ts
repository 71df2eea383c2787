import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyFileSealer, WebhookSecrets, keyFileFor, signatureOf } from '../../src-main/engine/notify/webhook-secrets.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-secrets-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the key file beside the database; none for an in-memory one', () => {
  assert.equal(keyFileFor('/data/hoist.db'), '/data/hoist.db.key');
  assert.equal(keyFileFor(':memory:'), null);
});

test('sealed, the secret is not readable; two processes on one key file open each other’s', (t) => {
  const file = path.join(tmp(t), 'hoist.db.key');
  const one = new KeyFileSealer(file);
  const sealed = one.seal('whsec_abc');
  assert.match(sealed, /^v1:[\w-]+:[\w-]+:[\w-]+$/);
  assert.ok(!sealed.includes('whsec_abc'));
  assert.notEqual(one.seal('whsec_abc'), sealed, 'a fresh IV each time');
  assert.equal(new KeyFileSealer(file).open(sealed), 'whsec_abc');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('a secret sealed under another key, or damaged, is refused as config.invalid', (t) => {
  const dir = tmp(t);
  const sealed = new KeyFileSealer(path.join(dir, 'a.key')).seal('whsec_abc');
  assert.throws(() => new KeyFileSealer(path.join(dir, 'b.key')).open(sealed), { code: 'config.invalid' });
  assert.throws(() => new KeyFileSealer(path.join(dir, 'a.key')).open(sealed.slice(0, -2)), { code: 'config.invalid' });
  assert.throws(() => new KeyFileSealer(path.join(dir, 'a.key')).open('whsec_abc'), { code: 'config.invalid' });
});

test('WebhookSecrets: made once and kept, rotated on demand, none for a missing folder; the signature is HMAC-SHA256 over "<timestamp>.<body>"', () => {
  const rows = new Map<number, string | null>([[1, null]]);
  const store = {
    webhookSecret: (id: number) => (rows.has(id) ? rows.get(id)! : undefined),
    setWebhookSecret: (id: number, sealed: string, replace: boolean) => {
      if (!rows.has(id) || (!replace && rows.get(id) !== null)) return false;
      rows.set(id, sealed);
      return true;
    },
  };
  const secrets = new WebhookSecrets(store, new KeyFileSealer(null));
  const first = secrets.ensure(1)!;
  assert.match(first, /^whsec_[\w-]{43}$/);
  assert.equal(secrets.ensure(1), first);
  assert.equal(secrets.ensure(2), null);
  const rotated = secrets.rotate(1)!;
  assert.notEqual(rotated, first);
  assert.equal(secrets.ensure(1), rotated);
  const headers = secrets.sign(1, '{"a":1}', 1_700_000_000_500);
  assert.deepEqual(headers, { 'x-hoist-timestamp': '1700000000', 'x-hoist-signature': signatureOf(rotated, '1700000000', '{"a":1}') });
  assert.deepEqual(secrets.sign(2, '{}'), {});
  // Computed with Python's hmac module: HMAC-SHA256(b'whsec_test', b'1700000000.{"id":"e1"}').
  assert.equal(signatureOf('whsec_test', '1700000000', '{"id":"e1"}'), 'sha256=6a85cb117c993612a34c72b4cfb5a16baed25a80d26e298ce0e6671320fd07c8');
});
