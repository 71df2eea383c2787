// Bandwidth limits, global and per destination, with an optional daily schedule ("unlimited from
// 20:00 to 06:00"). The settings live in the database (PacingStore); each limit is a token bucket in
// shared memory (token-bucket.ts) that every part worker takes from before each chunk it writes.
// This module sets the buckets' rates from the settings and the clock.
import { HoistError } from '../../../shared/errors.js';
import type { BandwidthLimit, BandwidthWindow } from '../../../shared/types.js';
import type { PacingStore, StoredBandwidthLimit } from '../store/pacing-store.js';
import { TokenBucket, createBucketMemory, type BucketMemory } from './token-bucket.js';
import { parseSize } from '../upload/part-plan.js';

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;
const UNLIMITED = new Set(['unlimited', 'off', 'none', 'no-limit']);

function minutesOf(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  if (!m) throw new HoistError('config.invalid', { message: `"${hhmm}" is not a time of day (HH:MM, 24-hour, for example 20:00).` });
  return Number(m[1]) * 60 + Number(m[2]);
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

/** Parses "20:00-06:00=unlimited,12:00-13:00=100MB/s" into windows. */
export function parseSchedule(text: string): BandwidthWindow[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item) => {
    const m = /^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*=\s*(.+?)\s*$/.exec(item);
    if (!m) throw new HoistError('config.invalid', { message: `"${item.trim()}" is not a schedule window (example: 20:00-06:00=unlimited).` });
    return validWindow({ from: m[1]!, to: m[2]!, bytesPerSecond: parseRate(m[3]!) });
  });
}

function validWindow(w: BandwidthWindow): BandwidthWindow {
  if (minutesOf(w.from) === minutesOf(w.to)) throw new HoistError('config.invalid', { message: `The window ${w.from}-${w.to} is empty; give different start and end times.` });
  if (w.bytesPerSecond !== null && !(Number.isSafeInteger(w.bytesPerSecond) && w.bytesPerSecond >= 1024)) {
    throw new HoistError('config.invalid', { message: `The window ${w.from}-${w.to} has an invalid rate ${w.bytesPerSecond} (at least 1024 bytes per second, or null for unlimited).` });
  }
  return { from: w.from, to: w.to, bytesPerSecond: w.bytesPerSecond };
}

/** The rate in force at `at` (local time): the first window containing it, else the base rate. */
export function effectiveRate(limit: Pick<StoredBandwidthLimit, 'bytesPerSecond' | 'schedule'>, at: Date): number | null {
  const now = at.getHours() * 60 + at.getMinutes();
  for (const w of limit.schedule) {
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    const inside = from < to ? now >= from && now < to : now >= from || now < to;
    if (inside) return w.bytesPerSecond;
  }
  return limit.bytesPerSecond;
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

  constructor(
    private readonly store: PacingStore,
    private readonly clock: () => Date = () => new Date(),
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
    return this.settings.map((s) => ({ ...s, effectiveBytesPerSecond: effectiveRate(s, at) }));
  }

  /** Reads the settings again (another process may have changed them) and applies them. */
  reload(): void {
    this.settings = this.store.bandwidthLimits();
    this.refresh();
  }

  /** Applies the rate each schedule gives now. */
  refresh(): void {
    const at = this.clock();
    const wanted = new Map<number, number | null>();
    for (const s of this.settings) wanted.set(s.destinationId ?? 0, effectiveRate(s, at));
    for (const [id, bucket] of this.buckets) bucket.setRate(wanted.get(id) ?? null);
    for (const id of wanted.keys()) this.bucket(id);
  }

  /** Follows the clock (schedules) every `everyMs`; `onTick` lets the owner look for changes from elsewhere first. */
  start(everyMs = 1000, onTick?: () => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      onTick?.();
      this.refresh();
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private bucket(id: number): TokenBucket {
    let b = this.buckets.get(id);
    if (!b) {
      b = new TokenBucket(createBucketMemory());
      const setting = this.settings.find((s) => (s.destinationId ?? 0) === id);
      b.setRate(setting ? effectiveRate(setting, this.clock()) : null);
      this.buckets.set(id, b);
    }
    return b;
  }
}
