// Each watched folder with a webhook signs its events with a secret of its own (HMAC-SHA256,
// docs/webhooks.md). The secret is made when the folder gets a webhook and kept sealed in the
// database: AES-256-GCM under a key in a file beside it (`hoist.db.key`, owner-only), so neither
// the database, its WAL, nor the recovery file holds it in plain text. Every process that opens
// the database (the app, `hoist run`, `hoist watch`) can open it and sign; `hoist folders
// webhook-secret ID` shows it so the receiver can be configured.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import type { FolderStore } from '../store/folder-store.js';
import { localDbFile } from '../app-data.js';

/** The request headers a signed event carries. */
export const SIGNATURE_HEADER = 'x-hoist-signature';
export const TIMESTAMP_HEADER = 'x-hoist-timestamp';

const SEALED_PREFIX = 'v1';
const KEY_BYTES = 32;

/** The key file beside a database (`hoist.db` → `hoist.db.key`; on PostgreSQL the application-data folder's); null for an in-memory database (its key lives as long as it). */
export function keyFileFor(dbPath: string): string | null {
  return dbPath === ':memory:' ? null : `${localDbFile(dbPath)}.key`;
}

/** `sha256=<hex>`: HMAC-SHA256 with the secret (its UTF-8 bytes) over `<timestamp>.<raw body>`. */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Seals and opens short secrets with one machine-local key. */
export class KeyFileSealer {
  private key: Buffer | null = null;

  constructor(private readonly file: string | null) {}

  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.load(), iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [SEALED_PREFIX, iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join(':');
  }

  open(sealed: string): string {
    const [prefix, iv, tag, data] = sealed.split(':');
    try {
      if (prefix !== SEALED_PREFIX || !iv || !tag || data === undefined) throw new Error('not a sealed secret');
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.load(), Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new HoistError('config.invalid', {
        message: `A webhook signing secret cannot be opened with the key in ${this.file ?? 'memory'} (the key file was replaced or the secret damaged). Make a new one: hoist folders webhook-secret ID --rotate.`,
        detail: (err as Error).message,
      });
    }
  }

  /** The key, read from its file or made once: written whole to a private file, then linked into place, so two processes agree on one. */
  private load(): Buffer {
    if (this.key) return this.key;
    if (this.file === null) return (this.key = crypto.randomBytes(KEY_BYTES));
    try {
      this.key = this.readKey();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const temporary = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
      fs.writeFileSync(temporary, crypto.randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600 });
      try {
        fs.linkSync(temporary, this.file);
      } catch (linkErr) {
        if ((linkErr as NodeJS.ErrnoException).code !== 'EEXIST') throw linkErr;
      } finally {
        fs.rmSync(temporary, { force: true });
      }
      this.key = this.readKey();
    }
    return this.key;
  }

  private readKey(): Buffer {
    const key = Buffer.from(fs.readFileSync(this.file!, 'utf8').trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new HoistError('config.invalid', { message: `${this.file} is not a Hoist key file (${KEY_BYTES} bytes, base64).` });
    return key;
  }
}

/** The folders' signing secrets: made, kept sealed, opened to sign and to show. */
export class WebhookSecrets {
  constructor(
    private readonly folders: Pick<FolderStore, 'webhookSecret' | 'setWebhookSecret'>,
    private readonly sealer: KeyFileSealer,
  ) {}

  /** The folder's secret, made and stored first if it has none. Null when there is no such folder. */
  ensure(folderId: number): string | null {
    const sealed = this.folders.webhookSecret(folderId);
    if (sealed === undefined) return null;
    if (sealed !== null) return this.sealer.open(sealed);
    this.folders.setWebhookSecret(folderId, this.sealer.seal(newSecret()), false);
    // Another process may have made one at the same moment: the one stored is the one.
    return this.sealer.open(this.folders.webhookSecret(folderId)!);
  }

  /** The folder's secret if it has one, without making one (diagnostics take it out of what they carry). */
  current(folderId: number): string | null {
    const sealed = this.folders.webhookSecret(folderId);
    return sealed ? this.sealer.open(sealed) : null;
  }

  /** A new secret for the folder, in place of the old one (events sent from now on are signed with it). */
  rotate(folderId: number): string | null {
    if (this.folders.webhookSecret(folderId) === undefined) return null;
    const secret = newSecret();
    this.folders.setWebhookSecret(folderId, this.sealer.seal(secret), true);
    return secret;
  }

  /** The headers that sign `body` for the folder's receiver, now. Empty when the folder is gone (its events go unsigned). */
  sign(folderId: number, body: string, now = Date.now()): Record<string, string> {
    const secret = this.ensure(folderId);
    if (secret === null) return {};
    const timestamp = String(Math.floor(now / 1000));
    return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signatureOf(secret, timestamp, body) };
  }
}

function newSecret(): string {
  return `whsec_${crypto.randomBytes(KEY_BYTES).toString('base64url')}`;
}
