// Watched files queued many to a transaction (issue 12). A render folder settles thousands of frames
// within a second or two; queued one transaction each (job, then its folder record, then the next
// file) they took 2 commits and 4 writes a file and the watcher queued 22 to 63 files/s here
// (bench/enqueue-bench.ts). Files decided within BATCH_WAIT_MS of each other, up to BATCH_MAX, go in
// one transaction, each file's job with its folder record, so a crash loses a whole batch or
// nothing of it: a file without its record is found again by the next scan, and no job is left
// without the record that says which file it is. A file that cannot be planned (too large) is
// refused alone; a batch the database refuses is reported for each of its files.
import { requireMhlHash } from '../mhl/manifest.js';
import { planFiles, type EnqueueOptions, type PlannedFile, type SourceFile } from '../enqueue.js';
import type { JobRecord } from '../store/job-store.js';

/** How long the first file of a batch waits for others (a scan settles its files within milliseconds of each other). */
const BATCH_WAIT_MS = 20;
/** Files per transaction at most: a transaction holds the database for about a millisecond per 100 files. */
export const BATCH_MAX = 500;

export interface BatchedFile {
  source: SourceFile;
  o: EnqueueOptions;
  /** What is recorded with the job, in its transaction (the folder's record of the file). */
  within(job: JobRecord): void;
}

/** What the batcher needs of the engine: jobs recorded for groups of looked-at files in one transaction (Engine.enqueueLooked). */
export interface BatchHost {
  enqueueLooked(groups: ReadonlyArray<{ files: readonly PlannedFile[]; o: EnqueueOptions; within(jobs: JobRecord[]): void }>): JobRecord[][];
}

interface Waiting {
  file: BatchedFile;
  planned: PlannedFile;
  resolve(job: JobRecord): void;
  reject(err: unknown): void;
}

export class EnqueueBatcher {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly host: BatchHost) {}

  /** Resolves with the file's job once its batch has committed; rejects when it cannot be queued. */
  add(file: BatchedFile): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      let planned: PlannedFile;
      try {
        if (file.o.mhl) requireMhlHash(file.o.hashes ?? []);
        [planned] = planFiles([file.source], file.o) as [PlannedFile];
      } catch (err) {
        reject(err);
        return;
      }
      this.waiting.push({ file, planned, resolve, reject });
      if (this.waiting.length >= BATCH_MAX) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), BATCH_WAIT_MS);
    });
  }

  /** Records what waits, in one transaction. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    // Files with the same options (one folder, one destination) share one group of enqueue's.
    const groups = new Map<string, Waiting[]>();
    for (const w of batch) {
      const id = JSON.stringify({ ...w.file.o, destination: w.file.o.destination.id });
      const group = groups.get(id);
      if (group) group.push(w);
      else groups.set(id, [w]);
    }
    const ordered = [...groups.values()];
    let jobs: JobRecord[][];
    try {
      jobs = this.host.enqueueLooked(
        ordered.map((g) => ({
          files: g.map((w) => w.planned),
          o: g[0]!.file.o,
          within: (made: JobRecord[]) => made.forEach((job, i) => g[i]!.file.within(job)),
        })),
      );
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    ordered.forEach((g, gi) => g.forEach((w, i) => w.resolve(jobs[gi]![i]!)));
  }
}
