// What a damaged database cannot be rebuilt without: the destinations and the watched folders.
// Kept beside the database (hoist.db.recovery.json), no secrets in it (credentials live in the
// host's keychain or ~/.aws, keyed by destination id; a webhook secret only sealed), rewritten whole (temporary file, fsync,
// rename) whenever they change, so it is never half a file.
import fs from 'node:fs';
import path from 'node:path';
import type { Destination, WatchedFolder } from '../../../shared/types.js';

export const RECOVERY_FORMAT = 'hoist-recovery';
export const RECOVERY_VERSION = 1;

/** `webhookSecret`: its webhook signing secret as stored, sealed (notify/webhook-secrets.ts), so a rebuild keeps it. */
export type RecoveredFolder = Omit<WatchedFolder, 'createdAt'> & { webhookSecret?: string | null };

export interface RecoverySnapshot {
  format: typeof RECOVERY_FORMAT;
  version: typeof RECOVERY_VERSION;
  writtenAt: string;
  destinations: Destination[];
  folders: RecoveredFolder[];
}

export function recoveryFileFor(dbPath: string): string {
  return `${dbPath}.recovery.json`;
}

/** The part of the snapshot that changes only when the configuration does. */
function contentOf(destinations: Destination[], folders: RecoveredFolder[]): string {
  return JSON.stringify({ destinations, folders });
}

export class RecoveryFile {
  /** What the file holds (without its date), once read or written. */
  private written: string | null = null;

  constructor(readonly file: string) {}

  /** The snapshot in the file, or null when there is none or it cannot be read as one. */
  read(): RecoverySnapshot | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      return null;
    }
    const s = parsed as Partial<RecoverySnapshot> | null;
    if (!s || s.format !== RECOVERY_FORMAT || s.version !== RECOVERY_VERSION || !Array.isArray(s.destinations) || !Array.isArray(s.folders)) return null;
    return s as RecoverySnapshot;
  }

  /** Rewrites the file when the destinations or folders differ from what it holds; `sealedSecretOf` gives a folder's sealed webhook secret. */
  sync(destinations: Destination[], watched: WatchedFolder[], sealedSecretOf: (folderId: number) => string | null = () => null): void {
    // Where this machine sees a folder (seenHere, sharedPath: a shared queue's) is not the folder's to keep.
    const folders = watched.map(({ createdAt: _c, ...f }) => {
      const { seenHere: _s, sharedPath: _p, ...kept } = f as typeof f & { seenHere?: boolean; sharedPath?: string };
      return { ...kept, webhookSecret: sealedSecretOf(f.id) };
    });
    const content = contentOf(destinations, folders);
    if (this.written === null) {
      const existing = this.read();
      this.written = existing ? contentOf(existing.destinations, existing.folders) : '';
    }
    if (content === this.written) return;
    const snapshot: RecoverySnapshot = { format: RECOVERY_FORMAT, version: RECOVERY_VERSION, writtenAt: new Date().toISOString(), destinations, folders };
    const temporary = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
    const fd = fs.openSync(temporary, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(snapshot, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, this.file);
    this.written = content;
  }
}
