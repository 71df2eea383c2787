// How fast Hoist may send: bandwidth limits (global and per destination, with a daily schedule) and the
// bounds of automatic concurrency per destination. The SQL behind issue 6, beside JobStore on the same database.
import type { BandwidthWindow, ConcurrencyBounds } from '../../../shared/types.js';
import type { Db } from './db.js';

/** A bandwidth limit as stored: the global one has destinationId null. */
export interface StoredBandwidthLimit {
  destinationId: number | null;
  bytesPerSecond: number | null;
  schedule: BandwidthWindow[];
}

type Row = Record<string, unknown>;

function toLimit(r: Row): StoredBandwidthLimit {
  return {
    destinationId: (r.destination_id as number | null) ?? null,
    bytesPerSecond: (r.bytes_per_second as number | null) ?? null,
    schedule: JSON.parse(r.schedule as string) as BandwidthWindow[],
  };
}

export class PacingStore {
  private readonly s;

  constructor(readonly db: Db, private readonly now: () => number = Date.now) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      limits: p('SELECT * FROM bandwidth_limits ORDER BY coalesce(destination_id, 0)'),
      deleteLimit: p('DELETE FROM bandwidth_limits WHERE coalesce(destination_id, 0) = coalesce(?, 0)'),
      insertLimit: p('INSERT INTO bandwidth_limits (destination_id, bytes_per_second, schedule, updated_at) VALUES (?, ?, ?, ?)'),
      bounds: p('SELECT * FROM concurrency_bounds ORDER BY destination_id'),
      boundsOf: p('SELECT * FROM concurrency_bounds WHERE destination_id = ?'),
      upsertBounds: p(`INSERT INTO concurrency_bounds (destination_id, min_concurrency, max_concurrency, updated_at) VALUES (?, ?, ?, ?)
                       ON CONFLICT(destination_id) DO UPDATE SET min_concurrency = excluded.min_concurrency,
                         max_concurrency = excluded.max_concurrency, updated_at = excluded.updated_at`),
      deleteBounds: p('DELETE FROM concurrency_bounds WHERE destination_id = ?'),
    };
  }

  bandwidthLimits(): StoredBandwidthLimit[] {
    return (this.s.limits.all() as Row[]).map(toLimit);
  }

  /** Replaces the limit of one scope; no rate and no schedule removes it (unlimited). */
  setBandwidthLimit(limit: StoredBandwidthLimit): void {
    this.db.transaction(() => {
      this.s.deleteLimit.run(limit.destinationId);
      if (limit.bytesPerSecond === null && limit.schedule.length === 0) return;
      this.s.insertLimit.run(limit.destinationId, limit.bytesPerSecond, JSON.stringify(limit.schedule), this.now());
    })();
  }

  concurrencyBounds(): ConcurrencyBounds[] {
    return (this.s.bounds.all() as Row[]).map((r) => ({ destinationId: r.destination_id as number, min: r.min_concurrency as number, max: r.max_concurrency as number }));
  }

  concurrencyBoundsOf(destinationId: number): ConcurrencyBounds | undefined {
    const r = this.s.boundsOf.get(destinationId) as Row | undefined;
    return r ? { destinationId, min: r.min_concurrency as number, max: r.max_concurrency as number } : undefined;
  }

  /** null turns automatic concurrency off: the destination's fixed concurrency applies again. */
  setConcurrencyBounds(destinationId: number, bounds: { min: number; max: number } | null): void {
    if (bounds === null) this.s.deleteBounds.run(destinationId);
    else this.s.upsertBounds.run(destinationId, bounds.min, bounds.max, this.now());
  }
}
