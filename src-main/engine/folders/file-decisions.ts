// The decision per file: a finished file is handed to Ingest once per destination of its folder
// (a slow or failing destination holds up only its own job), a growing one has its parts go out,
// and an unreadable one is reported once. Work on one path runs one task after another (decisions,
// clean-up), and at most a few files are worked at once.
import { toHoistError } from '../s3/errors.js';
import type { FolderRecord } from '../store/folder-store.js';
import { relativePath } from '../keys.js';
import type { FolderRun } from './folder-run.js';
import type { FileContext, Ingest, SkippedFile } from './ingest.js';
import type { FileSnapshot } from './stability.js';

/**
 * Files decided at once. Most wait only for a listing page shared by a thousand keys and then for
 * their batch's transaction (enqueue-batch.ts), so this bounds a batch's size too: at 16, batches
 * held 16 files; a key a listing shows present is looked at with HeadObject, which the SDK's
 * connection pool queues.
 */
const SETTLE_CONCURRENCY = 500;

export interface DecisionHooks {
  skipped(s: SkippedFile): void;
  /** Every destination may have this version now: a clean-up may be owed. */
  settled(folder: FolderRecord, relPath: string): void;
}

/** At most `limit` tasks at once. */
class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class FileDecisions {
  private readonly settling = new Map<string, Promise<void>>();
  private readonly limiter = new Limiter(SETTLE_CONCURRENCY);
  /** Unreadable entries already reported (file and error code), so each is said once per start. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly ingest: Ingest,
    private readonly hooks: DecisionHooks,
  ) {}

  /** Files being decided or cleaned up. */
  get busy(): number {
    return this.settling.size;
  }

  /** True while a file under `dir` is being decided or cleaned up. */
  busyUnder(dir: string, sep: string): boolean {
    return [...this.settling.keys()].some((f) => f.startsWith(dir + sep));
  }

  /** What is under way, to wait for on stop. */
  underWay(): Promise<void>[] {
    return [...this.settling.values()];
  }

  /** A new start reports unreadable entries again. */
  reset(): void {
    this.reported.clear();
  }

  /** Work on one path runs one task after another (decisions, clean-up); at most a few files are worked at once. */
  serialize(file: string, task: () => Promise<void>): Promise<void> {
    const previous = this.settling.get(file) ?? Promise.resolve();
    // A task that failed (and was reported by its caller) does not stop the ones after it.
    const next: Promise<void> = previous
      .then(() => undefined, () => undefined)
      .then(() => this.limiter.run(task))
      .finally(() => {
        if (this.settling.get(file) === next) this.settling.delete(file);
      });
    this.settling.set(file, next);
    return next;
  }

  /**
   * The file is finished: decided for every destination at once (a slow or failing one holds up
   * only its own job), then cleaned up if all have it.
   */
  settle(run: FolderRun, file: string, snap: FileSnapshot): void {
    void this.serialize(file, async () => {
      const outcomes = await Promise.allSettled(contexts(run, file).map((ctx) => this.ingest.settle(ctx, snap)));
      for (const o of outcomes) {
        if (o.status === 'fulfilled') continue;
        const e = toHoistError(o.reason);
        this.hooks.skipped({ folderId: run.folder.id, path: file, reason: e.code, message: e.message });
      }
      if (outcomes.every((o) => o.status === 'fulfilled')) run.settled.set(relativePath(run.folder.path, file), snap);
    }).then(
      () => this.hooks.settled(run.folder, relativePath(run.folder.path, file)),
      (err) => this.hooks.skipped({ folderId: run.folder.id, path: file, reason: toHoistError(err).code, message: toHoistError(err).message }),
    );
  }

  grew(run: FolderRun, file: string, snap: FileSnapshot): void {
    if (!run.folder.growing || this.settling.has(file)) return;
    for (const ctx of contexts(run, file)) {
      try {
        this.ingest.grew(ctx, snap);
      } catch (err) {
        const e = toHoistError(err);
        this.hooks.skipped({ folderId: run.folder.id, path: file, reason: e.code, message: e.message });
      }
    }
  }

  unreadable(run: FolderRun, file: string, err: NodeJS.ErrnoException): void {
    const why = err.code === 'ELOOP' ? 'a symlink loop' : err.code === 'ENOENT' ? 'a symlink to nothing' : err.message;
    const key = `${file}:${err.code}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.hooks.skipped({ folderId: run.folder.id, path: file, reason: 'source.unreadable', message: `${file} cannot be read (${why}); it is passed over.` });
  }
}

/** The file at each destination of its folder. */
function contexts(run: FolderRun, file: string): FileContext[] {
  const relPath = relativePath(run.folder.path, file);
  return run.dests.map((dest) => ({ folder: run.folder, dest, file, relPath }));
}
