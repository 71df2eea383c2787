// Parts in flight per destination (a lane) and how that number moves.
//
// Fixed (the default): the destination's concurrency; 503 SlowDown halves it (once per burst) and it
// climbs back one step per 5 s without SlowDown.
//
// Automatic (bounds min..max set for the destination, `hoist tune`): hill climbing on measured
// throughput. Over each window in which the lane was kept full, bytes on the wire per second are
// measured; after a raise, a rise of more than `gain` keeps the new level and probes the next one,
// anything less goes back to the better level and holds there for a while before probing again.
// SlowDown halves the level and holds longer; other failures (resets, timeouts, 5xx) take one step
// down, at most once per window. Never outside min..max. Every decision is recorded.
//
// In a cluster (a shared queue) a destination's concurrency (or its max) is the cluster's: each
// node's lane is held to its share (`share`, from pacing/cluster-share.ts), and each lane says what
// it asks of it (`demand`): 'more' when it was full at its share, else the most parts it had in flight.
import { PRIORITIES } from '../../../shared/states.js';
import type { ConcurrencyDecision, Destination } from '../../../shared/types.js';
import type { Demand } from './cluster-share.js';

export interface TuningOptions {
  /** Length of a measurement window. */
  windowMs?: number;
  /** Relative throughput rise that justifies a higher level (0.05: 5%). */
  gain?: number;
  /** Windows to stay at a level after a raise brought nothing, before probing again. */
  holdWindows?: number;
  /** Windows to stay down after SlowDown. */
  slowDownHoldWindows?: number;
}

const DEFAULTS: Required<TuningOptions> = { windowMs: 4_000, gain: 0.05, holdWindows: 8, slowDownHoldWindows: 8 };
const SLOWDOWN_RECOVERY_MS = 5_000;
/** SlowDown answers arriving within this of a decrease are the same burst. */
const BURST_MS = 1_000;
/** A window counts when the lane was full at this share of its looks: otherwise demand, not concurrency, set the rate. */
const SATURATED_SHARE = 0.8;
const KEPT_DECISIONS = 200;

export interface Bounds {
  min: number;
  max: number;
}

type Phase = 'steady' | 'probing' | 'holding';

/** A slot in a lane, held by one part in flight. Releasing it again does nothing. */
export interface SlotToken {
  readonly rank: number;
  release(): void;
}

export class Lane {
  limit: number;
  private held = 0;
  private readonly heldByRank: number[] = PRIORITIES.map(() => 0);
  /** The slots handed out and not yet given back. */
  private readonly tokens = new Set<SlotToken>();
  readonly decisions: ConcurrencyDecision[] = [];
  private bounds: Bounds | null = null;
  private concurrency: number;
  // fixed mode
  private lastSlowDown = 0;
  private lastRaise = 0;
  // automatic mode
  private phase: Phase = 'steady';
  private holdUntil = 0;
  private lastDecrease = 0;
  private errorThisWindow = false;
  /** Throughput at the level the current probe came from. */
  private before: { limit: number; rate: number } | null = null;
  private windowStart: number;
  private windowBytes = 0;
  private looks = 0;
  private fullLooks = 0;
  private warmedUp = false;
  // in a cluster
  /** The settings as stored, before this node's share of them. */
  private setting: { concurrency: number; bounds: Bounds | null };
  /** This node's share of the ceiling (the concurrency, or the max); null: the whole of it. */
  private cap: number | null = null;
  private fullSinceDemand = false;
  private peakSinceDemand = 0;

  constructor(
    readonly destinationId: number,
    dest: Pick<Destination, 'concurrency'>,
    bounds: Bounds | null,
    private readonly opts: Required<TuningOptions>,
    private readonly record: (d: ConcurrencyDecision) => void,
    now: number,
    /** With a shared queue: this node's slots of a destination's ceiling (none: this process has it whole). */
    private readonly share: ((ceiling: number) => number) | null = null,
  ) {
    this.concurrency = dest.concurrency;
    this.windowStart = now;
    this.limit = dest.concurrency;
    this.setting = { concurrency: dest.concurrency, bounds };
    this.cap = share ? share(bounds?.max ?? dest.concurrency) : null;
    this.applySettings(now);
  }

  /** Parts in flight. */
  get inflight(): number {
    return this.held;
  }

  /** Parts in flight per priority rank (PRIORITY_RANK: high 0, normal 1, low 2). */
  get inflightByRank(): readonly number[] {
    return this.heldByRank;
  }

  /** A slot for a part of priority `rank`, held until the token is released (once; again is harmless). */
  acquire(rank: number): SlotToken {
    const token: SlotToken = {
      rank,
      release: () => {
        if (!this.tokens.delete(token)) return;
        this.held--;
        this.heldByRank[rank]!--;
      },
    };
    this.tokens.add(token);
    this.held++;
    this.heldByRank[rank]!++;
    return token;
  }

  /** Gives back every slot (nothing is in flight any more, whatever the holders think). */
  releaseAll(): void {
    for (const token of [...this.tokens]) token.release();
  }

  get automatic(): Bounds | null {
    return this.bounds;
  }

  /** The destination's concurrency or its bounds changed (or were read again). */
  configure(dest: Pick<Destination, 'concurrency'>, bounds: Bounds | null, now: number): void {
    this.setting = { concurrency: dest.concurrency, bounds };
    if (this.share) this.cap = this.share(bounds?.max ?? dest.concurrency);
    this.applySettings(now);
  }

  /** In a cluster: this node's share of the ceiling again (the other nodes' demands change). */
  reshare(now: number): void {
    if (!this.share) return;
    const cap = this.share(this.setting.bounds?.max ?? this.setting.concurrency);
    if (cap === this.cap) return;
    const from = this.limit;
    const atCeiling = !this.bounds && from === this.concurrency;
    this.cap = cap;
    this.applySettings(now);
    // Fixed: a lane not lowered by SlowDown follows its share both ways (SlowDown's recovery climbs one step per 5 s).
    if (atCeiling && from !== this.concurrency) {
      this.limit = from;
      this.decide(this.concurrency, 'cluster share', null, now);
    }
  }

  /** What this lane asked of its share since the last call: 'more' when it was full at its share, else its most parts in flight. */
  demand(): Demand {
    const d: Demand = this.fullSinceDemand && this.cap !== null && this.limit >= this.cap ? 'more' : this.fullSinceDemand ? this.limit : this.peakSinceDemand;
    this.fullSinceDemand = false;
    this.peakSinceDemand = this.inflight;
    return d;
  }

  /** The settings with this node's share applied: a ceiling above the share is the share. */
  private applySettings(now: number): void {
    const cap = this.cap ?? Infinity;
    const { concurrency, bounds: b } = this.setting;
    const dest = { concurrency: Math.min(concurrency, cap) };
    const bounds = b && { min: Math.min(b.min, cap), max: Math.min(b.max, cap) };
    const was = this.bounds;
    this.concurrency = dest.concurrency;
    this.bounds = bounds;
    if (bounds) {
      const clamped = Math.min(bounds.max, Math.max(bounds.min, was ? this.limit : dest.concurrency));
      if (!was || was.min !== bounds.min || was.max !== bounds.max || clamped !== this.limit) {
        this.decide(clamped, 'bounds', null, now);
        this.phase = 'steady';
        this.before = null;
      }
    } else if (was) {
      this.decide(dest.concurrency, 'bounds', null, now);
    } else if (this.limit > dest.concurrency) {
      this.limit = dest.concurrency;
    }
  }

  /** Bytes that went onto the wire for this lane. */
  addBytes(n: number): void {
    if (n > 0) this.windowBytes += n;
  }

  onSlowDown(now: number): void {
    if (!this.bounds) return this.fixedSlowDown(now);
    if (now - this.lastDecrease < BURST_MS) return;
    this.lastDecrease = now;
    this.phase = 'holding';
    this.holdUntil = now + this.opts.slowDownHoldWindows * this.opts.windowMs;
    this.before = null;
    this.decide(Math.max(this.bounds.min, Math.floor(this.limit / 2)), 'SlowDown', null, now);
    this.restartWindow(now);
  }

  /** A part failed for another retryable reason (reset, timeout, server error). */
  onError(now: number): void {
    if (!this.bounds || this.errorThisWindow) return;
    this.errorThisWindow = true;
    this.lastDecrease = now;
    this.phase = 'holding';
    this.holdUntil = now + this.opts.holdWindows * this.opts.windowMs;
    this.before = null;
    this.decide(Math.max(this.bounds.min, this.limit - 1), 'error', null, now);
  }

  /** Called by the scheduler's loop: recovery in fixed mode, a window's verdict in automatic mode. */
  tick(now: number): void {
    if (!this.bounds) return this.fixedRecover(now);
    if (now - this.windowStart < this.opts.windowMs) return;
    const saturated = this.looks > 0 && this.fullLooks / this.looks >= SATURATED_SHARE;
    const rate = (this.windowBytes * 1000) / (now - this.windowStart);
    this.restartWindow(now);
    if (!saturated) return; // demand, not concurrency, set this window's rate
    // The first full window includes the start (threads, first hashes): it says nothing about the level.
    if (!this.warmedUp) {
      this.warmedUp = true;
      return;
    }
    const { min, max } = this.bounds;
    if (this.phase === 'probing' && this.before) {
      if (rate > this.before.rate * (1 + this.opts.gain)) {
        this.before = { limit: this.limit, rate };
        if (this.limit < max) this.decide(Math.min(max, this.limit + this.step()), 'rising', rate, now);
        else {
          this.phase = 'holding';
          this.holdUntil = now + this.opts.holdWindows * this.opts.windowMs;
        }
      } else {
        const back = Math.max(min, this.before.limit);
        this.phase = 'holding';
        this.holdUntil = now + this.opts.holdWindows * this.opts.windowMs;
        this.before = null;
        this.decide(back, 'no-gain', rate, now);
      }
      return;
    }
    if (now >= this.holdUntil && this.limit < max) {
      this.before = { limit: this.limit, rate };
      this.phase = 'probing';
      this.decide(Math.min(max, this.limit + this.step()), 'probe', rate, now);
    }
  }

  /** Whether the lane is full, looked at once the scheduler has filled what it could: demand, or the limit, bounds it. */
  look(): void {
    this.looks++;
    if (this.inflight >= this.limit) this.fullLooks++;
    if (this.inflight >= this.limit) this.fullSinceDemand = true;
    if (this.inflight > this.peakSinceDemand) this.peakSinceDemand = this.inflight;
  }

  private step(): number {
    return Math.max(1, Math.floor(this.limit / 4));
  }

  private restartWindow(now: number): void {
    this.windowStart = now;
    this.windowBytes = 0;
    this.looks = 0;
    this.fullLooks = 0;
    this.errorThisWindow = false;
  }

  private decide(to: number, reason: string, measured: number | null, now: number): void {
    const from = this.limit;
    this.limit = to;
    const d: ConcurrencyDecision = { at: new Date(now).toISOString(), destinationId: this.destinationId, from, to, reason, measuredBytesPerSecond: measured === null ? null : Math.round(measured) };
    this.decisions.push(d);
    if (this.decisions.length > KEPT_DECISIONS) this.decisions.shift();
    this.record(d);
  }

  private fixedSlowDown(now: number): void {
    this.lastSlowDown = now;
    // One halving per burst: many parts answered SlowDown at once are one signal.
    if (now - this.lastRaise < BURST_MS && this.limit < this.concurrency) return;
    const next = Math.max(1, Math.floor(this.limit / 2));
    if (next === this.limit) return;
    this.lastRaise = now;
    this.decide(next, 'SlowDown', null, now);
  }

  private fixedRecover(now: number): void {
    if (this.limit > this.concurrency) this.limit = this.concurrency;
    if (this.limit < this.concurrency && now - this.lastSlowDown > SLOWDOWN_RECOVERY_MS && now - this.lastRaise > SLOWDOWN_RECOVERY_MS) {
      this.lastRaise = now;
      this.decide(this.limit + 1, 'recovered', null, now);
    }
  }
}

/** The lanes of all destinations; bounds come from the store, read again when they may have changed. */
export class Lanes {
  private readonly lanes = new Map<number, Lane>();
  private readonly opts: Required<TuningOptions>;

  constructor(
    private readonly boundsOf: (destinationId: number) => Bounds | null,
    private readonly onDecision: (d: ConcurrencyDecision) => void,
    opts: TuningOptions = {},
    private readonly now: () => number = Date.now,
    /** With a shared queue: this node's slots of a destination's ceiling. */
    private readonly share: ((destinationId: number, ceiling: number) => number) | null = null,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get(dest: Destination): Lane {
    let lane = this.lanes.get(dest.id);
    if (!lane) {
      const share = this.share;
      lane = new Lane(dest.id, dest, this.boundsOf(dest.id), this.opts, this.onDecision, this.now(), share && ((ceiling) => share(dest.id, ceiling)));
      this.lanes.set(dest.id, lane);
    }
    return lane;
  }

  look(): void {
    for (const lane of this.lanes.values()) lane.look();
  }

  all(): IterableIterator<Lane> {
    return this.lanes.values();
  }

  find(destinationId: number): Lane | undefined {
    return this.lanes.get(destinationId);
  }

  /** One look per lane; `destination` gives each lane's current settings (undefined: it was removed; see `readOnce`). */
  tick(destination: (id: number) => Destination | undefined): void {
    const now = this.now();
    for (const [id, lane] of this.lanes) {
      const dest = destination(id);
      if (!dest) continue;
      lane.reshare(now);
      lane.tick(now);
    }
  }

  /** What each lane asked of its share since the last call (demands published to the other nodes). */
  demands(): Map<number, Demand> {
    const out = new Map<number, Demand>();
    for (const [id, lane] of this.lanes) {
      const d = lane.demand();
      if (d !== 0) out.set(id, d);
    }
    return out;
  }

  /** Settings may have changed elsewhere (another process, a command): read them again. */
  reconfigure(destination: (id: number) => Destination | undefined): void {
    const now = this.now();
    for (const [id, lane] of this.lanes) {
      const dest = destination(id);
      if (dest) lane.configure(dest, this.boundsOf(id), now);
    }
  }
}

/**
 * `read` memoized for one pass of the scheduler: each destination is read once per tick, by the
 * lanes (`Lanes.tick`) and by the queued jobs' admission alike, not once per candidate (issue 12).
 */
export function readOnce(read: (id: number) => Destination | undefined): (id: number) => Destination | undefined {
  const seen = new Map<number, Destination | undefined>();
  return (id) => {
    if (!seen.has(id)) seen.set(id, read(id));
    return seen.get(id);
  };
}
