// The local test server's keys (issue 14). They are the script's well-known test keys, not a
// secret, but a destination's keys only ever come from a host's SecretStore or the AWS chain; so
// the host's store is wrapped: for the one destination "Use a local test server" added (recorded
// beside the server's data, with its endpoint), the keys the server printed; for every other
// destination, the host's own store (the desktop app's keychain), or none (the headless host).
import fs from 'node:fs';
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import type { Credentials, Destination } from '../../../shared/types.js';
import type { SecretStore } from '../secrets.js';

export interface LocalServerEntry extends Credentials {
  destinationId: number;
  endpoint: string;
}

/** The file, in the server's data folder, naming the destination it serves and its keys. */
export class LocalServerRecord {
  constructor(readonly file: string) {}

  read(): LocalServerEntry | null {
    try {
      const e = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<LocalServerEntry>;
      if (typeof e.destinationId !== 'number' || typeof e.endpoint !== 'string' || typeof e.accessKeyId !== 'string' || typeof e.secretAccessKey !== 'string') return null;
      return { destinationId: e.destinationId, endpoint: e.endpoint, accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey };
    } catch {
      return null;
    }
  }

  write(entry: LocalServerEntry): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(entry, null, 2), { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }
}

/** A host's SecretStore, plus the local test server's keys for the destination it was added as. */
export class LocalServerSecrets implements SecretStore {
  private lookup: ((id: number) => Pick<Destination, 'endpoint'> | undefined) | null = null;

  constructor(
    private readonly record: LocalServerRecord,
    private readonly inner?: SecretStore,
  ) {}

  /** How to see a destination as it is now: keys go only to the destination still pointing at the server (an id can be reused). */
  attach(lookup: (id: number) => Pick<Destination, 'endpoint'> | undefined): void {
    this.lookup = lookup;
  }

  async get(destinationId: number): Promise<Credentials | null> {
    const entry = this.record.read();
    if (entry && entry.destinationId === destinationId && this.lookup?.(destinationId)?.endpoint === entry.endpoint) {
      return { accessKeyId: entry.accessKeyId, secretAccessKey: entry.secretAccessKey };
    }
    return (await this.inner?.get(destinationId)) ?? null;
  }

  async set(destinationId: number, credentials: Credentials): Promise<void> {
    if (!this.inner) throw new HoistError('config.invalid', { message: 'This host keeps no credentials.' });
    await this.inner.set(destinationId, credentials);
  }

  async delete(destinationId: number): Promise<void> {
    await this.inner?.delete(destinationId);
  }
}
