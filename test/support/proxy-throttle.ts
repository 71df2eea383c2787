// The fault proxy's bandwidth throttle (test/support/s3-proxy.ts): a token bucket over request-body bytes.

/** Shared token bucket limiting request-body bytes across all proxied requests. */
export class TokenBucket {
  rate: number | null = null;
  private tokens = 0;
  private burst = 0;
  private last = 0;
  closed = false;

  set(rate: number | null): void {
    if (rate !== null && !(rate > 0 && Number.isFinite(rate))) throw new RangeError(`bad bandwidth ${rate}`);
    this.rate = rate;
    if (rate === null) return;
    this.burst = Math.max(1024, Math.floor(rate / 10));
    this.tokens = Math.min(this.tokens, this.burst);
    this.last = performance.now();
  }

  /** Largest piece a caller should request at once. */
  sliceSize(): number {
    return this.rate === null ? Infinity : Math.min(this.burst, 64 * 1024);
  }

  async take(n: number): Promise<void> {
    for (;;) {
      if (this.rate === null || this.closed) return;
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= n) {
        this.tokens -= n;
        return;
      }
      // Re-check at least every 100 ms so setBandwidth()/close() take effect promptly.
      const waitMs = Math.min(100, Math.ceil(((n - this.tokens) / this.rate) * 1000));
      await new Promise<void>((r) => setTimeout(r, Math.max(1, waitMs)).unref());
    }
  }
}
