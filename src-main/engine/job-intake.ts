// Where new jobs come in: files and folders given by a person (enqueue.ts expands and plans them) and
// a watched folder's files already looked at (folders/enqueue-batch.ts), each call recorded in one
// transaction, then announced, so hosts show a job from the moment it is queued and the scheduler
// wakes for it. Moved out of engine.ts, which only delegates here.
import { enqueueJobs, recordFiles, type EnqueueDeps, type EnqueueOptions, type PlannedFile } from './enqueue.js';
import type { BatchRecord } from './store/batch-store.js';
import type { JobRecord } from './store/job-store.js';

/** A watched folder's looked-at files, and what its `within` records beside their jobs in the same transaction. */
export interface LookedGroup {
  files: readonly PlannedFile[];
  o: EnqueueOptions;
  within(jobs: JobRecord[]): void;
}

/** What the intake tells the rest of the engine. */
export interface IntakeHost {
  pokeSoon(): void;
  job(job: JobRecord): void;
  batch(batch: BatchRecord): void;
}

export class JobIntake {
  constructor(
    private readonly deps: EnqueueDeps,
    private readonly host: IntakeHost,
  ) {}

  /**
   * Records jobs for files and folders (a folder's files recursively, keys = prefix + path under
   * it); a file already queued for the same key is not queued twice, it is resumed. Nothing is
   * queued unless every path can be read and every key is valid and distinct.
   */
  async enqueue(paths: readonly string[], o: EnqueueOptions): Promise<JobRecord[]> {
    const queued = await enqueueJobs(this.deps, paths, o);
    this.announce([queued]);
    return queued.jobs;
  }

  /** Queues files already looked at: each group's jobs, and what its `within` records beside them, in one transaction. */
  enqueueLooked(groups: readonly LookedGroup[]): JobRecord[][] {
    const done = this.deps.store.atomically(() =>
      groups.map((g) => {
        const r = recordFiles(this.deps, g.files, g.o);
        g.within(r.jobs);
        return r;
      }),
    );
    this.announce(done);
    return done.map((r) => r.jobs);
  }

  private announce(queued: ReadonlyArray<{ jobs: JobRecord[]; batchIds: number[] }>): void {
    this.host.pokeSoon();
    for (const r of queued) {
      for (const job of r.jobs) this.host.job(job);
      for (const id of r.batchIds) this.host.batch(this.deps.batches.get(id)!);
    }
  }
}
