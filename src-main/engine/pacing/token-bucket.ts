// A token bucket in shared memory: the main thread sets its rate, every part worker takes from it
// before each chunk it writes, so one limit holds across all threads without a message per chunk.
//
// Taking is a reservation (as in Go's rate.Limiter): the caller is charged at once, possibly into
// debt, and sleeps until the debt is paid. So bytes written in any span T never exceed burst + rate * T,
// whatever the number of threads and parts, and nobody spins. A rate change keeps the debt (bytes
// already promised) and wakes the sleepers (they sleep in short slices and look at a generation
// counter), who wait out what is left of their turn at the new rate: a raised limit or a schedule
// reaching "unlimited" takes effect within a slice, and a small change loses no time. (It used to
// clear the debt and make each sleeper reserve again from the start: every change then cost each
// sleeper the time it had already waited, up to a 1 MiB chunk's worth, and in a cluster, where a
// node's share is set again whenever the others' demands move, three nodes under a 6 MB/s limit sent
// 87-96% of it: test/s3/cluster-bandwidth.test.ts.)

const LOCK = 0; // Int32 slot
const GENERATION = 1; // Int32 slot
// BigInt64 slots (after the two Int32 slots, 8-byte aligned)
const RATE = 1; // bytes per second; 0 = unlimited
const TOKENS = 2; // bytes, may be negative (debt)
const LAST_NS = 3; // hrtime of the last refill
const BURST = 4; // bytes the bucket may hold when idle
const WAITS = 5; // reservations that had to wait: the limit held a sender back
const TAKEN = 6; // bytes reserved so far, limited or not: what this process sent through the bucket

const BYTES = 8 * 7;
/** Longest single sleep: how soon a sleeper notices a changed rate or an abort. */
const SLICE_MS = 200;

export type BucketMemory = SharedArrayBuffer;

export function createBucketMemory(): BucketMemory {
  return new SharedArrayBuffer(BYTES);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  return Object.assign(new Error('aborted'), { name: 'AbortError' });
}

export class TokenBucket {
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;

  constructor(readonly memory: BucketMemory) {
    this.i32 = new Int32Array(memory, 0, 2);
    this.i64 = new BigInt64Array(memory);
  }

  /** Bytes per second, or null for no limit. */
  get rate(): number | null {
    const r = Number(Atomics.load(this.i64, RATE));
    return r > 0 ? r : null;
  }

  /**
   * Sets the rate (null: unlimited). Between two limits the debt is kept, the tokens earned so far
   * counted at the old rate; to or from unlimited the bucket starts empty. Sleepers are woken to wait
   * out the rest of their turn at the new rate (takeTokens).
   */
  setRate(bytesPerSecond: number | null): void {
    const rate = bytesPerSecond === null ? 0 : Math.max(1, Math.round(bytesPerSecond));
    this.locked(() => {
      const old = this.i64[RATE]!;
      if (Number(old) === rate) return;
      const now = process.hrtime.bigint();
      // A quarter second's worth: enough to keep a link busy between grants, small against a minute.
      const burst = BigInt(Math.max(64 * 1024, Math.round(rate / 4)));
      let tokens = 0n;
      if (old > 0n && rate > 0) {
        tokens = this.i64[TOKENS]! + ((now - this.i64[LAST_NS]!) * old) / 1_000_000_000n;
        if (tokens > this.i64[BURST]!) tokens = this.i64[BURST]!;
        if (tokens > burst) tokens = burst;
      }
      this.i64[RATE] = BigInt(rate);
      this.i64[BURST] = burst;
      this.i64[TOKENS] = tokens;
      this.i64[LAST_NS] = now;
      Atomics.add(this.i32, GENERATION, 1);
    });
  }

  /** Charges `n` bytes; returns how long the caller must wait (ms) before sending them. */
  reserve(n: number, count = true): { waitMs: number; generation: number; rate: number } {
    return this.locked(() => {
      const generation = this.i32[GENERATION]!;
      const rate = this.i64[RATE]!;
      // Counted once per send (the demand a node publishes is read from it), not again when charged anew.
      if (count) this.i64[TAKEN]! += BigInt(n);
      if (rate <= 0n) return { waitMs: 0, generation, rate: 0 };
      const now = process.hrtime.bigint();
      const earned = ((now - this.i64[LAST_NS]!) * rate) / 1_000_000_000n;
      const burst = this.i64[BURST]!;
      let tokens = this.i64[TOKENS]! + earned;
      if (tokens > burst) tokens = burst;
      tokens -= BigInt(n);
      this.i64[TOKENS] = tokens;
      this.i64[LAST_NS] = now;
      if (tokens < 0n) this.i64[WAITS]!++;
      return { waitMs: tokens >= 0n ? 0 : Number((-tokens * 1000n) / rate), generation, rate: Number(rate) };
    });
  }

  /** How many reservations so far had to wait (the limit held a sender back); grows only. */
  get waits(): number {
    return Number(Atomics.load(this.i64, WAITS));
  }

  /** Bytes reserved so far (sent or about to be); grows only. */
  get taken(): number {
    return Number(Atomics.load(this.i64, TAKEN));
  }

  get generation(): number {
    return Atomics.load(this.i32, GENERATION);
  }

  private locked<T>(fn: () => T): T {
    // The critical sections are a few arithmetic operations: spinning is cheaper than sleeping.
    while (Atomics.compareExchange(this.i32, LOCK, 0, 1) !== 0);
    try {
      return fn();
    } finally {
      Atomics.store(this.i32, LOCK, 0);
    }
  }
}

/** Waits until `n` bytes may go out under every bucket (the global limit and the destination's). */
export async function takeTokens(buckets: readonly TokenBucket[], n: number, signal?: AbortSignal): Promise<void> {
  const start = performance.now();
  const held = buckets.map((bucket) => {
    const r = bucket.reserve(n);
    return { bucket, generation: r.generation, rate: r.rate, until: start + r.waitMs };
  });
  for (;;) {
    const now = performance.now();
    for (const h of held) {
      if (h.bucket.generation === h.generation) continue;
      // The rate changed while waiting: the bytes before this turn are still owed, now at the new rate.
      const rate = h.bucket.rate ?? 0;
      h.generation = h.bucket.generation;
      if (rate === 0) {
        h.until = now;
      } else if (h.rate === 0) {
        // Reserved while unlimited (nothing charged then): charged now, at the limit.
        const r = h.bucket.reserve(n, false);
        h.generation = r.generation;
        h.rate = r.rate;
        h.until = now + r.waitMs;
      } else {
        h.until = now + (Math.max(0, h.until - now) * h.rate) / rate;
        h.rate = rate;
      }
    }
    const until = Math.max(...held.map((h) => h.until));
    if (until <= now) return;
    await sleep(Math.min(SLICE_MS, until - now), signal);
  }
}
