// Work a timer runs on the main thread (a folder sync, a look for quiet batches, a limit's schedule):
// a store call in it can fail (a PostgreSQL job database that cannot be reached, a full disk), and a
// throw from a timer or a rejected promise nobody awaits ends the process. Here it is logged instead,
// once until the work succeeds again: a database down for 20 s is said once, not at every tick.
import type { Logger } from '../log.js';
import { logFailure } from './outage.js';

export class TimerWork {
  private failing = false;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  /** Runs `fn` (synchronous or async); a failure is logged, never thrown. */
  run(fn: () => void | Promise<void>): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.then(() => this.ok(), (err: unknown) => this.failed(err));
      else this.ok();
    } catch (err) {
      this.failed(err);
    }
  }

  private ok(): void {
    if (this.failing) this.log.info(`${this.what}: working again`);
    this.failing = false;
  }

  private failed(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    logFailure(this.log, 'warn', `${this.what} failed (tried again at its next turn): ${(err as Error | undefined)?.message ?? String(err)}`, err);
  }
}
