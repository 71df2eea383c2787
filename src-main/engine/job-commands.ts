// What a person (the CLI, a host's UI, the tray) asks of one job, of a selection or of all: pause,
// resume, retry, cancel, priority, clear off the list. Each is a compare-and-set on the jobs' state in
// the store (so a pause written by another process is never overwritten), a selection's in one
// transaction, then a poke so the scheduler follows within a tick.
import type { JobAction, JobTarget } from '../../shared/contract.js';
import { HoistError } from '../../shared/errors.js';
import type { Priority } from '../../shared/states.js';
import type { JobRecord, JobStore } from './store/job-store.js';

/** The store's part the commands use. */
export type JobCommandStore = Pick<JobStore, 'getJob' | 'listJobs' | 'uploadFlaggedAgain' | 'cancelJob' | 'bulk' | 'atomically'>;

/** What a bulk command did: how many jobs it meant, and which it changed. */
export interface BulkOutcome {
  matched: number;
  changed: number[];
}

/** What the commands need of the rest of the engine: wake the scheduler, and send owed aborts after a cancel. */
export interface JobCommandHost {
  poke(): void;
  settleOwedAborts(): Promise<unknown>;
}

export class JobCommands {
  constructor(
    private readonly store: JobCommandStore,
    private readonly host: JobCommandHost,
  ) {}

  pause(id: number): boolean {
    this.requireJob(id);
    return this.done(this.store.bulk.pause([id])).length === 1;
  }

  pauseAll(): number {
    return this.act({ filter: { states: ['queued', 'running'] } }, 'pause').changed.length;
  }

  /** Resumes a paused job, or retries a failed one when `orFailed` is set. */
  resume(id: number, orFailed = false): boolean {
    this.requireJob(id);
    return this.done(this.store.bulk.resume([id], orFailed ? ['paused', 'failed'] : ['paused'])).length === 1;
  }

  resumeAll(): number {
    return this.act({ filter: { states: ['paused'] } }, 'resume').changed.length;
  }

  /** Retries a failed job, or sends again a done one whose object was found deleted or overwritten (flagged). */
  retry(id: number): boolean {
    const job = this.requireJob(id);
    if (job.state === 'done' && job.flag) {
      const ok = this.store.uploadFlaggedAgain(id, `Sending it again, as asked after ${job.flag.code}.`);
      this.host.poke();
      return ok;
    }
    if (job.state !== 'failed') throw new HoistError('config.invalid', { message: `Job ${id} is ${job.state}; only a failed job, or a done one flagged because its object changed, can be retried.` });
    return this.resume(id, true);
  }

  /** Cancels a job and aborts its multipart upload on the server (now, or as soon as the server answers). */
  async cancel(id: number): Promise<boolean> {
    const job = this.requireJob(id);
    const ok = this.store.cancelJob(job);
    this.host.poke();
    if (ok && job.uploadId) await this.host.settleOwedAborts();
    return ok;
  }

  setPriority(id: number, priority: Priority): boolean {
    this.requireJob(id);
    this.done(this.store.bulk.setPriority([id], priority));
    return true;
  }

  /**
   * One action on many jobs: the ids given (those that exist), or every job a filter means on the
   * list. Pause, resume, priority and clear are one statement each; retry and cancel go job by job
   * (a flagged job is sent again; a cancel owes its upload's abort), all in one transaction, and the
   * owed aborts are sent once after it.
   */
  act(target: JobTarget, action: Exclude<JobAction, 'cancel'>): BulkOutcome;
  act(target: JobTarget, action: JobAction): Promise<BulkOutcome> | BulkOutcome;
  act(target: JobTarget, action: JobAction): BulkOutcome | Promise<BulkOutcome> {
    const bulk = this.store.bulk;
    let uploads = false;
    const outcome = this.store.atomically((): BulkOutcome => {
      const ids = 'ids' in target ? bulk.existing(target.ids) : bulk.idsMatching(target.filter);
      const changed = (): number[] => {
        if (typeof action === 'object') return bulk.setPriority(ids, action.priority);
        switch (action) {
          case 'pause':
            return bulk.pause(ids);
          case 'resume':
            return bulk.resume(ids, ['paused']);
          case 'clear':
            return bulk.clear(ids);
          case 'retry': {
            const flagged = this.store.listJobs({ ids: bulk.existing(ids, ['done']) }).filter((j) => j.flag);
            const again = flagged.filter((j) => this.store.uploadFlaggedAgain(j.id, `Sending it again, as asked after ${j.flag!.code}.`)).map((j) => j.id);
            return [...bulk.resume(ids, ['failed']), ...again].sort((a, b) => a - b);
          }
          case 'cancel': {
            const open = this.store.listJobs({ ids: bulk.existing(ids, ['queued', 'running', 'completing', 'paused', 'failed']) });
            const cancelled = open.filter((j) => this.store.cancelJob(j));
            uploads = cancelled.some((j) => j.uploadId !== null);
            return cancelled.map((j) => j.id);
          }
        }
      };
      return { matched: ids.length, changed: changed() };
    });
    this.done(outcome.changed);
    if (action !== 'cancel') return outcome;
    return uploads ? this.host.settleOwedAborts().then(() => outcome) : Promise.resolve(outcome);
  }

  /** After a change: the scheduler looks again. */
  private done(changed: number[]): number[] {
    this.host.poke();
    return changed;
  }

  private requireJob(id: number): JobRecord {
    const job = this.store.getJob(id);
    if (!job) throw new HoistError('config.invalid', { message: `There is no job ${id}.` });
    return job;
  }
}
