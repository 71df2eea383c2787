// What a person (the CLI, a host's UI, the tray) asks of one job or of all: pause, resume, retry,
// cancel, priority. Each is a compare-and-set on the job's state in the store (so a pause written
// by another process is never overwritten), then a poke so the scheduler follows within a tick.
import { HoistError } from '../../shared/errors.js';
import type { JobState, Priority } from '../../shared/states.js';
import type { JobRecord, JobStore } from './store/job-store.js';

/** The store's part the commands use. */
export type JobCommandStore = Pick<JobStore, 'getJob' | 'listJobs' | 'transition' | 'addEvent' | 'resetAttempts' | 'setPriority' | 'uploadFlaggedAgain' | 'cancelJob'>;

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
    const ok = this.store.transition(id, ['queued', 'running'], 'paused');
    if (ok) this.store.addEvent(id, 'paused', 'Paused; finished parts are kept.');
    this.host.poke();
    return ok;
  }

  pauseAll(): number {
    return this.store.listJobs({ states: ['queued', 'running'] }).filter((j) => this.pause(j.id)).length;
  }

  /** Resumes a paused job, or retries a failed one when `orFailed` is set. */
  resume(id: number, orFailed = false): boolean {
    this.requireJob(id);
    const from: JobState[] = orFailed ? ['paused', 'failed'] : ['paused'];
    const ok = this.store.transition(id, from, 'queued', { availableAt: 0, error: null });
    if (ok) {
      this.store.resetAttempts(id);
      this.store.addEvent(id, 'resumed', 'Resumed.');
    }
    this.host.poke();
    return ok;
  }

  resumeAll(): number {
    return this.store.listJobs({ states: ['paused'] }).filter((j) => this.resume(j.id)).length;
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
    const ok = this.store.setPriority(id, priority);
    this.host.poke();
    return ok;
  }

  private requireJob(id: number): JobRecord {
    const job = this.store.getJob(id);
    if (!job) throw new HoistError('config.invalid', { message: `There is no job ${id}.` });
    return job;
  }
}
