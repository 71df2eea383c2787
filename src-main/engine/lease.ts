// The runner lease, gained and lost as one (issue 11). One process works a database's queue: it
// holds `runner_lease` and renews it at every heartbeat. Everything that acts on files or the
// bucket (the scheduler, the webhook and ASC MHL writers, the folder watcher with its clean-ups)
// runs only while the lease is held: when another process takes it, all of it stops, and the
// heartbeat keeps asking for the lease and starts all of it again once it is ours. Commands from
// the UI go on meanwhile: they only write the database.
import { EventEmitter } from 'node:events';
import type { RunnerState } from '../../shared/contract.js';
import { toHoistError } from './s3/errors.js';
import { logger } from './log.js';
import { logFailure } from './support/outage.js';

const log = logger('lease');

/** Said while a node of a shared queue stops its work for want of the database (node-lease.ts; the host shows it as 'waiting'). */
export const NO_DATABASE = '(the database cannot be reached)';

/** The store's side of the lease (JobStore implements it). */
export interface LeaseStore {
  acquireLease(owner: string, staleAfterMs: number): LeaseAnswer;
  releaseLease(owner: string): void;
}

export type LeaseAnswer = { ok: true } | { ok: false; pid: number; host: string };

/** What a host shows: working the queue, waiting for the lease another process holds, or not trying. */
export type LeaseState = RunnerState;

/** Work that may run only under the lease. Started in the order given, stopped in the reverse order. */
export interface LeasedWork {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export interface LeaseTiming {
  /** A lease not renewed for this long is taken over. */
  staleAfterMs: number;
  heartbeatMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { staleAfterMs: 15_000, heartbeatMs: 2_000 };

export class LeaseKeeper extends EventEmitter<{ state: [state: LeaseState] }> {
  private timer: NodeJS.Timeout | null = null;
  private current: LeaseState = { state: 'off' };
  /** A start or stop of the work under way: the heartbeat waits for it rather than overlap it. */
  private turn: Promise<void> | null = null;
  private readonly timing: LeaseTiming;

  constructor(
    private readonly store: LeaseStore,
    readonly owner: string,
    private readonly work: readonly LeasedWork[],
    timing: Partial<LeaseTiming> = {},
    /** Called at every heartbeat (the engine syncs its recovery file there). */
    private readonly onBeat: () => void = () => undefined,
  ) {
    super();
    this.timing = { ...DEFAULT_LEASE_TIMING, ...timing };
  }

  get state(): LeaseState {
    return this.current;
  }

  /** True from the moment the lease is taken until the work is stopped for losing it or closing. */
  get working(): boolean {
    return this.current.state === 'working';
  }

  /**
   * Takes the lease and starts the work (synchronously as far as the work is synchronous). When
   * another live process holds it: with `wait`, the heartbeat keeps asking; without, nothing more
   * happens. Once held, a lost lease is always asked for again.
   */
  start(wait: boolean): LeaseAnswer {
    if (this.working) return { ok: true };
    if (this.timer && this.current.state === 'waiting') return { ok: false, pid: this.current.pid, host: this.current.host };
    const answer = this.store.acquireLease(this.owner, this.timing.staleAfterMs);
    if (answer.ok) this.gain();
    else this.set({ state: 'waiting', pid: answer.pid, host: answer.host });
    if (answer.ok || wait) this.timer = setInterval(() => this.beat(), this.timing.heartbeatMs);
    return answer;
  }

  /** Resolves once the work under way has finished starting or stopping. */
  async settled(): Promise<void> {
    while (this.turn) await this.turn;
  }

  /** Stops the work (reverse order) and gives the lease back. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.settled();
    if (this.working) {
      await this.stopAll();
      this.store.releaseLease(this.owner);
    }
    this.set({ state: 'off' });
  }

  private beat(): void {
    if (this.turn) return;
    let answer: LeaseAnswer;
    try {
      answer = this.store.acquireLease(this.owner, this.timing.staleAfterMs);
    } catch (err) {
      // A full disk is reported by the scheduler ('storage'); the lease is renewed once there is room.
      if (toHoistError(err).code !== 'db.full') logFailure(log, 'warn', `could not renew the runner lease: ${(err as Error).message}`, err);
      return;
    }
    try {
      this.onBeat();
    } catch (err) {
      log.warn(`heartbeat: ${(err as Error).message}`);
    }
    if (answer.ok && !this.working) {
      log.info('took the runner lease: working the queue again');
      this.gain();
    } else if (!answer.ok && this.working) {
      // For want of the database the host says it once the work has stopped (support/outage.ts).
      const line = `lost the runner lease ${answer.pid ? `to pid ${answer.pid} on ${answer.host}` : answer.host}: stopping uploads, folder watching, clean-ups, webhooks and ASC MHL writes until it is back`;
      if (answer.host === NO_DATABASE) log.info(line);
      else log.warn(line);
      this.lose(answer);
    } else if (!answer.ok && (this.current.state !== 'waiting' || this.current.pid !== answer.pid || this.current.host !== answer.host)) {
      this.set({ state: 'waiting', pid: answer.pid, host: answer.host });
    }
  }

  private gain(): void {
    this.current = { state: 'working' };
    const started = this.startFrom(0);
    if (!started) return this.set({ state: 'working' }, true);
    this.track(started.then(() => this.set({ state: 'working' }, true)));
  }

  /** Says 'waiting' only once everything has stopped: from then on nothing acts on files or the bucket. */
  private lose(holder: Extract<LeaseAnswer, { ok: false }>): void {
    this.track(this.stopAll().then(() => this.set({ state: 'waiting', pid: holder.pid, host: holder.host }, true)));
  }

  /** Starts the work from index i; synchronous work starts at once, the rest after what it awaits. */
  private startFrom(i: number): Promise<void> | null {
    for (; i < this.work.length; i++) {
      const r = this.work[i]!.start();
      if (r instanceof Promise) {
        const next = i + 1;
        return r.then(() => this.startFrom(next) ?? undefined);
      }
    }
    return null;
  }

  private async stopAll(): Promise<void> {
    for (const w of [...this.work].reverse()) {
      try {
        await w.stop();
      } catch (err) {
        logFailure(log, 'error', `stopping work under the lease: ${(err as Error).message}`, err);
      }
    }
  }

  private track(p: Promise<void>): void {
    const t: Promise<void> = p
      .catch((err) => log.error(`the runner lease: ${(err as Error).message}`))
      .finally(() => {
        if (this.turn === t) this.turn = null;
      });
    this.turn = t;
  }

  private set(next: LeaseState, force = false): void {
    const same = JSON.stringify(next) === JSON.stringify(this.current);
    this.current = next;
    if (!same || force) this.emit('state', next);
  }
}
