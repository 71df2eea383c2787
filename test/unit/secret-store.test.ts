// Saved credentials are only ever written as ciphertext, to a private file, and only when a real
// keychain can seal them. Electron's safeStorage is stood in for by a sealer with a fixed AES key.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import { SafeStorageSecretStore, type Sealer } from '../../src-main/hosts/electron/secret-store.js';
import { tempDir } from '../support/s3.js';

function fakeSealer(opts: { available?: boolean; backend?: string } = {}): Sealer {
  const key = crypto.randomBytes(32);
  return {
    isEncryptionAvailable: () => opts.available ?? true,
    getSelectedStorageBackend: () => (opts.backend ?? 'gnome_libsecret') as ReturnType<Sealer['getSelectedStorageBackend']>,
    encryptString: (plain: string) => {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decryptString: (sealed: Buffer) => {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

const credentials = { accessKeyId: 'AKIAHOISTEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' };

test('credentials round-trip through the sealer and never touch the disk in plain text', async () => {
  const file = path.join(tempDir('secrets'), 'credentials.json');
  const sealer = fakeSealer();
  const store = new SafeStorageSecretStore(file, sealer);
  assert.equal(await store.get(1), null);
  await store.set(1, credentials);
  await store.set(2, { accessKeyId: 'AKIAOTHER', secretAccessKey: 'other-secret' });

  const onDisk = fs.readFileSync(file, 'utf8');
  for (const secret of Object.values(credentials)) assert.ok(!onDisk.includes(secret), `${secret.slice(0, 6)}… is on disk in plain text`);
  if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'only the user can read the file');

  const reopened = new SafeStorageSecretStore(file, sealer);
  assert.deepEqual(await reopened.get(1), credentials);
  await reopened.delete(1);
  assert.equal(await new SafeStorageSecretStore(file, sealer).get(1), null);
  assert.equal((await new SafeStorageSecretStore(file, sealer).get(2))?.accessKeyId, 'AKIAOTHER', 'deleting one keeps the others');
});

test('without a keychain (or with Linux’s fixed-key fallback) nothing is saved, and the message says what to do', async () => {
  const weak = [fakeSealer({ available: false }), ...(process.platform === 'linux' ? [fakeSealer({ backend: 'basic_text' })] : [])];
  for (const sealer of weak) {
    const file = path.join(tempDir('secrets-weak'), 'credentials.json');
    const store = new SafeStorageSecretStore(file, sealer);
    await assert.rejects(store.set(1, credentials), (err: unknown) => err instanceof HoistError && err.code === 'config.invalid' && /AWS profile/.test(err.message));
    assert.equal(fs.existsSync(file), false, 'no file was written');
  }
});
