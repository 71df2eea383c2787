// What people set of the pace (issue 6): bandwidth limits, a destination's concurrency bounds, and
// what automatic concurrency decided. Checked here, against the destinations that exist, before the
// store keeps it; running uploads follow at once.
import { HoistError } from '../../../shared/errors.js';
import { MAX_CONCURRENCY } from '../../../shared/limits.js';
import type { BandwidthLimit, ConcurrencyBounds, ConcurrencyDecision, Destination } from '../../../shared/types.js';
import type { PacingStore } from '../store/pacing-store.js';
import type { BandwidthInput, BandwidthLimiter } from './bandwidth.js';
import type { Lane } from './lanes.js';

/** The scheduler's lanes, as far as the pace's settings reach them. */
export interface LaneControl {
  reconfigureLanes(): void;
  laneOf(destinationId: number): Lane | undefined;
}

export class PaceControls {
  constructor(
    private readonly destinations: { getDestination(id: number): Destination | undefined },
    private readonly bandwidth: BandwidthLimiter,
    private readonly pacing: PacingStore,
    private readonly lanes: LaneControl,
  ) {}

  /** Sets (or, with no rate and no schedule, removes) the global limit or a destination's. */
  setBandwidthLimit(input: BandwidthInput): BandwidthLimit {
    if (input.destinationId !== null) this.destination(input.destinationId);
    return this.bandwidth.set(input);
  }

  bandwidthLimits(): BandwidthLimit[] {
    return this.bandwidth.list();
  }

  /** Automatic concurrency between min and max for a destination; null goes back to its fixed concurrency. */
  setConcurrencyBounds(destinationId: number, bounds: { min: number; max: number } | null): void {
    this.destination(destinationId);
    if (bounds && !(Number.isInteger(bounds.min) && Number.isInteger(bounds.max) && bounds.min >= 1 && bounds.min <= bounds.max && bounds.max <= MAX_CONCURRENCY)) {
      throw new HoistError('config.invalid', { message: `Concurrency bounds must be whole numbers with 1 <= min <= max <= ${MAX_CONCURRENCY} (got ${bounds.min}..${bounds.max}).` });
    }
    this.pacing.setConcurrencyBounds(destinationId, bounds);
    this.lanes.reconfigureLanes();
  }

  concurrencyBounds(): ConcurrencyBounds[] {
    return this.pacing.concurrencyBounds();
  }

  /** Parts in flight allowed now for a destination (null before it carried traffic here) and the tuner's decisions so far. */
  concurrencyOf(destinationId: number): { limit: number | null; bounds: ConcurrencyBounds | null; decisions: ConcurrencyDecision[] } {
    const lane = this.lanes.laneOf(destinationId);
    return { limit: lane?.limit ?? null, bounds: this.pacing.concurrencyBoundsOf(destinationId) ?? null, decisions: [...(lane?.decisions ?? [])] };
  }

  private destination(id: number): void {
    if (!this.destinations.getDestination(id)) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
  }
}
