// Bandwidth limits, global and per destination, with an optional weekly timetable ("unlimited from
// 20:00 to 06:00", "Mon-Fri 09:00-18:00 at 50 MB/s"; shared/timetable.ts reads it). The settings live
// in the database (PacingStore); each limit is a token bucket in shared memory (token-bucket.ts) that
// every part worker takes from before each chunk it writes. This module sets the buckets' rates from
// the settings and the clock, and notes which limits held a sender back in the last second. In a
// cluster a limit is shared by the nodes (cluster-share.ts): each bucket runs at this node's share.
import { HoistError } from '../../../shared/errors.js';
import { WEEK_ORDER, formatWindowTimes, isWeekday, minutesOf, nextRateChange, parseDays, rateAt, windowInForce } from '../../../shared/timetable.js';
import type { BandwidthLimit, BandwidthWindow } from '../../../shared/types.js';
import type { PacingStore, StoredBandwidthLimit } from '../store/pacing-store.js';
import type { ClusterShare, Demand, Scope } from './cluster-share.js';
import { TokenBucket, createBucketMemory, type BucketMemory } from './token-bucket.js';
import { parseSize } from '../upload/part-plan.js';
import { logger } from '../log.js';
import { TimerWork } from '../support/timer-work.js';

const UNLIMITED = new Set(['unlimited', 'off', 'none', 'no-limit']);

function minutes(hhmm: string, end = false): number {
  const m = minutesOf(hhmm, end);
  if (Number.isNaN(m)) throw new HoistError('config.invalid', { message: `"${hhmm}" is not a time of day (HH:MM, 24-hour, for example 20:00${end ? '; 24:00 ends a window at midnight' : ''}).` });
  return m;
}

/**
 * Parses a rate: "50MB/s" (decimal), "40MiB/s", "400Mbit/s" or "400Mbps" (bits), a bare byte count, or
 * "unlimited" / "off" (null).
 */
export function parseRate(text: string): number | null {
  const t = text.trim();
  if (UNLIMITED.has(t.toLowerCase())) return null;
  // A lower-case b is bits (Mbit/s, Mbps, Mb/s), as network people quote links: always decimal.
  const bits = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:bit\/s|bits\/s|bps|b\/s)$/.exec(t);
  let bytes: number;
  if (bits) {
    bytes = (Number(bits[1]) * 1000 ** ' kmgt'.indexOf((bits[2] || ' ').toLowerCase())) / 8;
  } else {
    try {
      bytes = parseSize(t.replace(/(\/s|ps)$/i, ''));
    } catch {
      throw new HoistError('config.invalid', { message: `"${text}" is not a rate (examples: 50MB/s, 40MiB/s, 400Mbit/s, unlimited).` });
    }
  }
  if (!(bytes >= 1024)) throw new HoistError('config.invalid', { message: `"${text}" is below 1 KiB/s; a limit that low would never finish anything (use "unlimited" to remove the limit).` });
  return Math.round(bytes);
}

/**
 * Parses a timetable: "20:00-06:00=unlimited,12:00-13:00=100MB/s" (every day), "Mon-Fri 09:00-18:00=50MB/s",
 * "Sat,Sun=unlimited" (the whole day), "Fri 20:00-06:00=unlimited" (into Saturday morning).
 */
export function parseSchedule(text: string): BandwidthWindow[] {
  if (text.trim() === '') return [];
  // Days may be listed with commas too ("Sat,Sun 10:00-12:00=…"): a piece without "=" belongs to the next.
  const items: string[] = [];
  let pending = '';
  for (const piece of text.split(',')) {
    pending = pending ? `${pending},${piece}` : piece;
    if (piece.includes('=')) {
      items.push(pending);
      pending = '';
    }
  }
  if (pending.trim()) items.push(pending);
  return items.map((item) => {
    const m = /^\s*(?:([A-Za-z][A-Za-z,\s-]*?)\s*)?(?:(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2}))?\s*=\s*(.+?)\s*$/.exec(item);
    if (!m || (!m[1] && !m[2])) throw new HoistError('config.invalid', { message: `"${item.trim()}" is not a timetable window (examples: 20:00-06:00=unlimited, Mon-Fri 09:00-18:00=50MB/s, Sat,Sun=unlimited).` });
    const days = m[1] ? parseDays(m[1]) : undefined;
    if (days === null) throw new HoistError('config.invalid', { message: `"${m[1]}" is not a list of days (examples: Mon-Fri, Sat,Sun, weekdays, weekends).` });
    return validWindow({ from: m[2] ?? '00:00', to: m[3] ?? '24:00', bytesPerSecond: parseRate(m[4]!), ...(days && days.length < 7 ? { days } : {}) });
  });
}

function validWindow(w: BandwidthWindow): BandwidthWindow {
  const where = formatWindowTimes(w);
  if (minutes(w.from) === minutes(w.to, true)) throw new HoistError('config.invalid', { message: `The window ${where} is empty; give different start and end times.` });
  if (w.bytesPerSecond !== null && !(Number.isSafeInteger(w.bytesPerSecond) && w.bytesPerSecond >= 1024)) {
    throw new HoistError('config.invalid', { message: `The window ${where} has an invalid rate ${w.bytesPerSecond} (at least 1024 bytes per second, or null for unlimited).` });
  }
  if (w.days !== undefined && (!Array.isArray(w.days) || w.days.length === 0 || !w.days.every((d) => isWeekday(d)))) {
    throw new HoistError('config.invalid', { message: `The window ${w.from}-${w.to} names no valid days (sun, mon, tue, wed, thu, fri, sat).` });
  }
  const days = w.days && w.days.length < 7 ? { days: WEEK_ORDER.filter((d) => w.days!.includes(d)) } : {};
  return { from: w.from, to: w.to, bytesPerSecond: w.bytesPerSecond, ...days };
}

/** The rate in force at `at` (local time): the first window holding then, else the base rate. */
export function effectiveRate(limit: Pick<StoredBandwidthLimit, 'bytesPerSecond' | 'schedule'>, at: Date): number | null {
  return rateAt(limit, at);
}

/** "20:00-06:00 unlimited", "Mon-Fri 09:00-18:00 50 MB/s". */
export function windowText(w: BandwidthWindow): string {
  return `${formatWindowTimes(w)} ${formatRate(w.bytesPerSecond)}`;
}

export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null) return 'unlimited';
  return `${(bytesPerSecond / 1e6).toFixed(bytesPerSecond >= 1e8 ? 0 : bytesPerSecond >= 1e7 ? 1 : 2).replace(/\.0+$/, '')} MB/s`;
}

export interface BandwidthInput {
  destinationId: number | null;
  bytesPerSecond: number | null;
  schedule?: BandwidthWindow[];
}

/** Owns the buckets; `refresh` (on a timer, and after every change) sets their rates from settings and clock. */
export class BandwidthLimiter {
  private readonly buckets = new Map<number, TokenBucket>();
  private settings: StoredBandwidthLimit[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly ticking = new TimerWork(logger('pacing'), 'following the bandwidth limits');
  /** Scopes (0: global) whose bucket made a part wait during the last second. */
  private readonly holding = new Set<number>();
  /** Each bucket's counters at the last look, and when that was. */
  private readonly seen = new Map<number, { waits: number; taken: number }>();
  private seenAt = performance.now();
  /** The limit in force per scope (0: global) now, from the settings and the clock; null: unlimited. */
  private limits = new Map<number, number | null>();

  constructor(
    private readonly store: PacingStore,
    private readonly clock: () => Date = () => new Date(),
    /** With a shared queue: this node's share of each limit (none: this process has each limit whole). */
    private readonly cluster: ClusterShare | null = null,
  ) {
    this.reload();
  }

  /** The shared memory of the buckets a part to this destination takes from: the global one, then its own. */
  memoryFor(destinationId: number): BucketMemory[] {
    return [this.bucket(0).memory, this.bucket(destinationId).memory];
  }

  set(input: BandwidthInput): BandwidthLimit {
    if (input.bytesPerSecond !== null && !(Number.isSafeInteger(input.bytesPerSecond) && input.bytesPerSecond >= 1024)) {
      throw new HoistError('config.invalid', { message: `A bandwidth limit must be at least 1024 bytes per second, or unlimited (got ${input.bytesPerSecond}).` });
    }
    const schedule = (input.schedule ?? []).map(validWindow);
    this.store.setBandwidthLimit({ destinationId: input.destinationId, bytesPerSecond: input.bytesPerSecond, schedule });
    this.reload();
    return this.list().find((l) => l.destinationId === input.destinationId) ?? { destinationId: input.destinationId, bytesPerSecond: null, schedule: [], effectiveBytesPerSecond: null };
  }

  list(): BandwidthLimit[] {
    const at = this.clock();
    return this.settings.map((s) => ({
      ...s,
      effectiveBytesPerSecond: effectiveRate(s, at),
      fromTimetable: windowInForce(s.schedule, at) !== null,
      changesAt: nextRateChange(s, at)?.toISOString() ?? null,
      holding: this.holding.has(s.destinationId ?? 0),
    }));
  }

  /**
   * Notes which buckets made a part wait since the last look (called once a second while the queue
   * is worked), and what this node asked of each limit in force: 'more' when it held a sender back,
   * else the bytes per second sent through it (none when nothing was).
   */
  private sample(): Map<Scope, Demand> {
    const at = performance.now();
    const seconds = Math.max(0.001, (at - this.seenAt) / 1000);
    this.seenAt = at;
    this.holding.clear();
    const demands = new Map<Scope, Demand>();
    for (const [id, bucket] of this.buckets) {
      const before = this.seen.get(id) ?? { waits: 0, taken: 0 };
      const now = { waits: bucket.waits, taken: bucket.taken };
      this.seen.set(id, now);
      if (now.waits !== before.waits) this.holding.add(id);
      if ((this.limits.get(id) ?? null) === null) continue;
      if (this.holding.has(id)) demands.set(String(id), 'more');
      else if (now.taken > before.taken) demands.set(String(id), Math.round((now.taken - before.taken) / seconds));
    }
    return demands;
  }

  /** The rate of a scope's bucket: the limit in force, or in a cluster this node's share of it. */
  private rateOf(id: number): number | null {
    const limit = this.limits.get(id) ?? null;
    return limit === null || !this.cluster ? limit : this.cluster.shareOf(String(id), limit);
  }

  /** Reads the settings again (another process may have changed them) and applies them. */
  reload(): void {
    this.settings = this.store.bandwidthLimits();
    this.refresh();
  }

  /** Applies the rate each schedule gives now. */
  refresh(): void {
    const at = this.clock();
    this.limits = new Map(this.settings.map((s) => [s.destinationId ?? 0, effectiveRate(s, at)]));
    for (const [id, bucket] of this.buckets) bucket.setRate(this.rateOf(id));
    for (const id of this.limits.keys()) this.bucket(id);
  }

  /**
   * One look of the timer: what this node asked of each limit since the last, shared with the other
   * nodes in a cluster, then the rates set again (schedules, shares).
   */
  tick(): void {
    const demands = this.sample();
    this.cluster?.exchange(demands);
    this.refresh();
  }

  /** Follows the clock (schedules) every `everyMs`; `onTick` lets the owner look for changes from elsewhere first. */
  start(everyMs = 1000, onTick?: () => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.ticking.run(() => {
        onTick?.();
        this.tick();
      });
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.holding.clear();
    // Sending nothing any more: the other nodes take this node's share at their next look.
    this.cluster?.withdraw();
  }

  private bucket(id: number): TokenBucket {
    let b = this.buckets.get(id);
    if (!b) {
      b = new TokenBucket(createBucketMemory());
      b.setRate(this.rateOf(id));
      this.buckets.set(id, b);
    }
    return b;
  }
}
