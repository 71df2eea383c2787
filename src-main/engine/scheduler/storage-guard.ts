// A full disk under the database (SQLITE_FULL, db.full): nothing new starts, parts already on the
// wire finish and their ETags wait here in memory. The database is tried again every second; once a
// write goes through, what waited is recorded and the open jobs go back to the queue, to be
// reconciled as after a crash (a part acknowledged but never recorded is adopted from ListParts).
import type { HoistError } from '../../../shared/errors.js';
import { toHoistError } from '../s3/errors.js';
import type { DonePart, UploadStore } from '../store/upload-store.js';
import type { StorageNotice } from './options.js';

/** How often a full database is tried again. */
const STORAGE_RETRY_MS = 1_000;

export class StorageGuard {
  /** Set while the database's disk is full: acknowledged parts wait here. */
  private state: { unrecorded: DonePart[]; lastTry: number } | null = null;

  constructor(
    private readonly store: Pick<UploadStore, 'markPartDone'>,
    /** Records what waited and puts the open jobs back in the queue (shared-queue.ts: only this node's). */
    private readonly recordAndRecover: (parts: readonly DonePart[]) => void,
    private readonly notify: (notice: StorageNotice) => void,
  ) {}

  get full(): boolean {
    return this.state !== null;
  }

  enter(e: HoistError): void {
    if (this.state) return;
    this.state = { unrecorded: [], lastTry: Date.now() };
    this.notify({ full: true, error: e.info });
  }

  /** Invariant 1: the part is done once its row is committed; while the disk is full, it waits here. */
  recordPartDone(p: DonePart): void {
    try {
      this.store.markPartDone(p.jobId, p.partNumber, p.etag, p.md5Hex, p.checksum);
    } catch (err) {
      const e = toHoistError(err);
      if (e.code !== 'db.full') throw err;
      this.enter(e);
      this.state!.unrecorded.push(p);
    }
  }

  /**
   * True once the database takes writes again and what waited is recorded. Until then nothing new
   * starts; parts on the wire and a Create or Complete under way (`busy`) finish first. `recovered`
   * runs once the rows are written, before hosts are told.
   */
  recover(busy: boolean, recovered: () => void): boolean {
    const full = this.state!;
    if (busy || Date.now() - full.lastTry < STORAGE_RETRY_MS) return false;
    full.lastTry = Date.now();
    try {
      this.recordAndRecover(full.unrecorded);
    } catch (err) {
      if (toHoistError(err).code === 'db.full') return false;
      throw err;
    }
    recovered();
    this.state = null;
    this.notify({ full: false, recorded: full.unrecorded.length });
    return true;
  }
}
