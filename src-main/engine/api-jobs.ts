// The HoistApi's job commands (pause, resume, retry, cancel, priority; one job or all) over the
// engine's JobCommands, and the pushes they owe the hosts: commands write the database directly and
// the scheduler only reports the jobs it works, so the changed jobs are announced here.
import type { JobAction, JobActionResult, JobTarget } from '../../shared/contract.js';
import type { Priority } from '../../shared/states.js';
import type { Engine } from './engine.js';

export type ApiJobsEngine = Pick<Engine, 'pause' | 'resume' | 'retry' | 'cancel' | 'setPriority' | 'pauseAll' | 'resumeAll' | 'listJobs' | 'getJob' | 'commands'>;

/**
 * A bulk command pushes at most this many changed jobs: enough for any page a host shows (500), and
 * a host's queue reloads its page and counts on any job event; 100,000 pushes would only flood the bridge.
 */
export const MAX_BULK_PUSHES = 1000;

/** How the API announces what a command changed. */
export interface ApiJobsEvents {
  /** These jobs may have changed: push them to the hosts. */
  jobsChanged(ids: readonly number[]): void;
  /** The bucket's list of in-progress uploads of this destination changed. */
  remoteChanged(destinationId: number): void;
}

export class ApiJobs {
  constructor(
    private readonly engine: ApiJobsEngine,
    private readonly events: ApiJobsEvents,
  ) {}

  pauseJob(id: number): boolean {
    return this.after([id], this.engine.pause(id));
  }

  resumeJob(id: number): boolean {
    return this.after([id], this.engine.resume(id));
  }

  async cancelJob(id: number): Promise<boolean> {
    const ok = await this.engine.cancel(id);
    const job = this.engine.getJob(id);
    if (ok && job?.uploadId) this.events.remoteChanged(job.destinationId);
    return this.after([id], ok);
  }

  retryJob(id: number): boolean {
    return this.after([id], this.engine.retry(id));
  }

  setPriority(id: number, priority: Priority): boolean {
    return this.after([id], this.engine.setPriority(id, priority));
  }

  pauseAll(): number {
    const ids = this.engine.listJobs({ states: ['queued', 'running'] }).map((j) => j.id);
    return this.after(ids, this.engine.pauseAll());
  }

  resumeAll(): number {
    const ids = this.engine.listJobs({ states: ['paused'] }).map((j) => j.id);
    return this.after(ids, this.engine.resumeAll());
  }

  async actOnJobs(target: JobTarget, action: JobAction): Promise<JobActionResult> {
    const { matched, changed } = await this.engine.commands.act(target, action);
    this.events.jobsChanged(changed.slice(0, MAX_BULK_PUSHES));
    return { matched, changed: changed.length };
  }

  private after<T>(ids: readonly number[], result: T): T {
    this.events.jobsChanged(ids);
    return result;
  }
}
