// Clean-ups after verified delivery that are still owed (issue 8): a delete or move of one version
// of a watched file, kept as owed work (store/owed-store.ts) of kind `source-cleanup` until it is
// paid, and the one transaction that records a paid one.
import type { JobFlag } from '../../../shared/types.js';
import type { FolderStore } from './folder-store.js';
import type { JobStore } from './job-store.js';
import type { OutboxStore } from './outbox-store.js';
import type { OwedItem, OwedWorkStore } from './owed-store.js';

export const SOURCE_CLEANUP = 'source-cleanup';

/** A delete or move of a delivered source that is owed: only this version (size, mtime, inode) is ever touched. */
export interface OwedCleanup {
  folderId: number;
  relPath: string;
  size: number;
  mtimeMs: number;
  inode: string;
}

export const cleanupScope = (folderId: number): string => `folder:${folderId}`;
/** The owed item's subject: one clean-up owed per file. */
export const cleanupSubject = (folderId: number, relPath: string): string => `${folderId}:${relPath}`;

export class CleanupStore {
  constructor(
    private readonly owed: OwedWorkStore,
    private readonly jobs: Pick<JobStore, 'db' | 'addEvent' | 'setFlag'>,
    private readonly folders: Pick<FolderStore, 'forgetFile'>,
    private readonly outbox: Pick<OutboxStore, 'insert'>,
  ) {}

  /** Owes a delete or move of this version of the file, due at once; a later version replaces an older one's debt. */
  owe(c: OwedCleanup, now = Date.now()): OwedItem<OwedCleanup> {
    const payload: OwedCleanup = { folderId: c.folderId, relPath: c.relPath, size: c.size, mtimeMs: c.mtimeMs, inode: c.inode };
    return this.owed.owe(SOURCE_CLEANUP, cleanupSubject(c.folderId, c.relPath), payload, { scope: cleanupScope(c.folderId), availableAt: now, onConflict: 'replace' });
  }

  owedFor(folderId: number, relPath: string): OwedItem<OwedCleanup> | undefined {
    return this.owed.owed<OwedCleanup>(SOURCE_CLEANUP, cleanupSubject(folderId, relPath));
  }

  /** No longer owed (the file changed or went, the folder keeps its files now). */
  forget(folderId: number, relPath: string): void {
    this.owed.forget(SOURCE_CLEANUP, cleanupSubject(folderId, relPath));
  }

  /** Clean-ups owed in these folders and due by `now`. */
  dueIn(folderIds: readonly number[], now = Date.now()): number {
    return this.owed.count({ kind: SOURCE_CLEANUP, states: ['owed'], dueBy: now, scopes: folderIds.map(cleanupScope) });
  }

  ofFolder(folderId: number): OwedItem<OwedCleanup>[] {
    return this.owed.list<OwedCleanup>({ kind: SOURCE_CLEANUP, scope: cleanupScope(folderId), states: ['owed'] });
  }

  /**
   * The file was deleted or moved: in one transaction, the history of each of its jobs says so, the
   * debt is paid, and the file's records at every destination retire with it (no later file, a
   * reused inode or a new clip of the same name, is taken for it).
   */
  paid(p: { folderId: number; relPath: string; destinationIds: readonly number[]; jobIds: readonly number[]; event: string; message: string }): void {
    this.jobs.db.transaction(() => {
      for (const jobId of p.jobIds) this.jobs.addEvent(jobId, p.event, p.message);
      const owed = this.owedFor(p.folderId, p.relPath);
      if (owed) this.owed.settle(owed.id, { countAttempt: true });
      for (const destinationId of p.destinationIds) this.folders.forgetFile(p.folderId, destinationId, p.relPath);
    })();
  }

  /**
   * The file is kept: an object it was delivered as was deleted or overwritten since it was verified.
   * In one transaction, each job whose object changed is flagged with what was found (its history
   * says so with the flag's code), the file's other jobs say why the file stayed, and the folder's
   * webhook, if it has one, is sent a `source.kept` event.
   */
  kept(k: { flags: ReadonlyArray<{ jobId: number; flag: JobFlag }>; otherJobIds: readonly number[]; message: string; webhook: { url: string; payload: object } | null }): void {
    this.jobs.db.transaction(() => {
      for (const { jobId, flag } of k.flags) {
        this.jobs.setFlag(jobId, flag);
        this.jobs.addEvent(jobId, 'cleanup-kept', flag.message, { code: flag.code });
      }
      for (const jobId of k.otherJobIds) this.jobs.addEvent(jobId, 'cleanup-kept', k.message);
      if (k.webhook) this.outbox.insert('source.kept', k.webhook.url, k.webhook.payload);
    })();
  }
}
