// Works the owed-work queue (store/owed-store.ts): every kind of work Hoist must finish even across
// failures and restarts (an abort of an upload we leave behind, a clean-up after delivery, a webhook
// event, an ASC MHL generation) is claimed when due and handed to the handler its module
// registered; a failure is tried again after the one back-off (backoff.ts, with jitter) until the
// kind's limit. One runner per database, started and stopped with the runner lease.
import { randomUUID } from 'node:crypto';
import { backoffDelay, type RetryPolicy } from '../backoff.js';
import { logger } from '../log.js';
import { logFailure, unreachable } from '../support/outage.js';
import type { ClaimOptions, OwedItem, OwedWorkStore } from '../store/owed-store.js';

const log = logger('owed');

/** What became of one attempt. */
export type OwedResult =
  | { outcome: 'settled' }
  /** Nothing is owed any more (the file changed, the batch went): the item is removed. */
  | { outcome: 'dropped' }
  /** Failed: tried again after the back-off, unless `final` or the kind's limit is reached. */
  | { outcome: 'failed'; error: string; final?: boolean }
  /** Not ready to be worked yet (not a failure): looked at again after `retryInMs`. */
  | { outcome: 'not-yet'; retryInMs: number };

export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** The back-off before the next attempt if this one fails; null when this one is the last. */
  retryInMs: number | null;
  /** Aborted when the runner stops: a long attempt (an HTTP request) should give up. */
  signal: AbortSignal;
}

export interface OwedKind<P> {
  handle(item: OwedItem<P>, ctx: AttemptContext): Promise<OwedResult>;
  retry: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;
  /** Failed attempts after which it is given up (default: never). */
  maxAttempts?: number;
  /** Owed this long (from its creation), a failed attempt gives it up (default: never). */
  giveUpAfterMs?: number;
  /** Attempts of this kind at once (default 1). */
  concurrency?: number;
  /** Items claimed per pass (default 20). */
  batch?: number;
  /** One item per scope at a time, oldest first. */
  inOrder?: boolean;
  /** The scopes this process works now (null: all), e.g. the folders it watches. */
  scopes?: () => readonly string[] | null;
  /** Runs before each pass of the kind: turns what happened into owed items (history into webhook events). */
  prepare?: () => void;
}

export interface OwedRunnerOptions {
  /** How often due work is looked for. */
  tickMs?: number;
  /** How long a claim holds an item (a crashed runner's items are free again after it). */
  claimMs?: number;
  random?: () => number;
  /**
   * A queue shared by several nodes (issue 15): claims are made in this node's name (so a node gone
   * silent has its claims freed, store/node-store.ts), and those of other nodes are not freed at start.
   */
  shared?: { owner: string };
  /** How long a done item is kept as a record (`hoist webhooks` lists delivered events) before it is pruned (default 30 days). */
  keepDoneMs?: number;
  /** How often done items are pruned while the runner runs, besides at its start (default hourly). */
  pruneEveryMs?: number;
}

const DAY_MS = 24 * 60 * 60_000;

export class OwedRunner {
  private readonly kinds = new Map<string, OwedKind<unknown>>();
  private readonly passes = new Map<string, Promise<void>>();
  /** Kinds whose last pass failed for want of the database, already logged (support/outage.ts). */
  private readonly unreachableSaid = new Set<string>();
  private readonly owner: string;
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopping = new AbortController();

  constructor(
    readonly store: OwedWorkStore,
    private readonly opts: OwedRunnerOptions = {},
  ) {
    this.owner = opts.shared?.owner ?? randomUUID();
  }

  /** Registers the handler of a kind; returns a function that removes it (after its pass ends). */
  register<P>(kind: string, def: OwedKind<P>): () => Promise<void> {
    if (this.kinds.has(kind)) throw new Error(`owed work of kind ${kind} has a handler already`);
    this.kinds.set(kind, def as OwedKind<unknown>);
    this.poke(kind);
    return async () => {
      if (this.kinds.get(kind) === def) this.kinds.delete(kind);
      await this.passes.get(kind);
    };
  }

  get running(): boolean {
    return this.timer !== null;
  }

  start(): void {
    if (this.timer) return;
    this.stopping = new AbortController();
    // One runner per SQLite database (the runner lease): claims left by a crashed process are stale.
    // A shared queue's other nodes are working theirs.
    if (!this.opts.shared) this.store.releaseClaims();
    this.timer = setInterval(() => this.poke(), this.opts.tickMs ?? 500);
    this.timer.unref();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), this.opts.pruneEveryMs ?? 60 * 60_000);
    this.pruneTimer.unref();
    this.poke();
  }

  /** Done items older than the bound go: without it every delivered event and sent abort stays forever. */
  private prune(): void {
    try {
      const removed = this.store.pruneSettled(Date.now() - (this.opts.keepDoneMs ?? 30 * DAY_MS));
      if (removed > 0) log.info(`pruned ${removed} done owed item(s)`, { removed });
    } catch (err) {
      logFailure(log, 'warn', `pruning done owed items: ${(err as Error).message}`, err);
    }
  }

  /** Stops claiming; attempts under way are told to stop and awaited (their outcome is recorded). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.timer = null;
    this.pruneTimer = null;
    this.stopping.abort();
    while (this.passes.size > 0) await Promise.allSettled([...this.passes.values()]);
  }

  /** Looks for due work now (of one kind, or of all). */
  poke(kind?: string): void {
    if (!this.timer) return;
    for (const k of kind === undefined ? this.kinds.keys() : [kind]) {
      if (this.kinds.has(k) && !this.passes.has(k)) this.track(k, this.pass(k, {}));
    }
  }

  /** True while an attempt of the kind is under way. */
  busy(kind: string): boolean {
    return this.passes.has(kind);
  }

  /**
   * Works every owed item of the kind now, back-off or not, once (commands that settle them before
   * they return, with or without a started runner); waits for a pass already under way first.
   */
  async drain(kind: string): Promise<void> {
    while (this.passes.has(kind)) await this.passes.get(kind)!.catch(() => undefined);
    if (!this.kinds.has(kind)) return;
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    const pass = this.pass(kind, { all: true, batch: 1000 });
    this.track(kind, pass);
    await pass;
  }

  private track(kind: string, pass: Promise<void>): void {
    const tracked = pass
      .then(
        () => void this.unreachableSaid.delete(kind),
        (err: unknown) => {
          // The database down: once per kind until a pass gets through, not at every pass (support/outage.ts).
          if (unreachable(err) && this.unreachableSaid.has(kind)) return;
          if (unreachable(err)) this.unreachableSaid.add(kind);
          logFailure(log, 'error', `${kind}: ${(err as Error).message}`, err, { kind });
        },
      )
      .finally(() => {
        if (this.passes.get(kind) === tracked) this.passes.delete(kind);
      });
    this.passes.set(kind, tracked);
  }

  private async pass(kind: string, o: { all?: boolean; batch?: number }): Promise<void> {
    const def = this.kinds.get(kind);
    if (!def) return;
    def.prepare?.();
    const claim: ClaimOptions = { all: o.all ?? false, inOrder: def.inOrder ?? false, scopes: def.scopes?.() ?? null };
    const items = this.store.claim<unknown>(kind, o.batch ?? def.batch ?? 20, this.owner, this.opts.claimMs ?? 15 * 60_000, claim);
    const queue = [...items];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        if (this.stopping.signal.aborted && !o.all) {
          this.store.snooze(item.id, item.availableAt);
          continue;
        }
        await this.attempt(def, item);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, def.concurrency ?? 1) }, worker));
  }

  private async attempt(def: OwedKind<unknown>, item: OwedItem<unknown>): Promise<void> {
    const attempt = item.attempts + 1;
    const last = (def.maxAttempts !== undefined && attempt >= def.maxAttempts)
      || (def.giveUpAfterMs !== undefined && Date.now() - item.createdAt > def.giveUpAfterMs);
    const retryInMs = last ? null : backoffDelay(attempt, def.retry, this.opts.random);
    let result: OwedResult;
    try {
      result = await def.handle(item, { attempt, retryInMs, signal: this.stopping.signal });
    } catch (err) {
      result = { outcome: 'failed', error: (err as Error).message };
    }
    if (result.outcome === 'settled') this.store.settle(item.id, { countAttempt: true });
    else if (result.outcome === 'dropped') this.store.drop(item.id);
    else if (result.outcome === 'not-yet') this.store.snooze(item.id, Date.now() + result.retryInMs);
    else if (result.final || retryInMs === null) {
      this.store.giveUp(item.id, result.error);
      log.warn(`gave up ${item.kind} ${item.subject} after ${attempt} attempt(s): ${result.error}`, { kind: item.kind, subject: item.subject, attempts: attempt });
    } else this.store.retry(item.id, result.error, Date.now() + retryInMs);
  }
}
