// Pace (issue 14): the bandwidth limits with their timetable and each destination's concurrency, as
// the host works them now. Asked for once a second while something shows it (the status line always
// does): whether a limit holds uploads back and where automatic concurrency stands change with the
// traffic, which sends no event.
import type { BandwidthLimitInput, ControlsApi, PaceState } from '../../shared/controls.js';
import { paceLine } from '../../shared/pace-line.js';
import type { BandwidthLimit } from '../../shared/types.js';
import { attempt, type NoticeManager, type Outcome } from './notices.svelte.js';

const POLL_MS = 1000;

export class PaceManager {
  #state = $state.raw<PaceState | null>(null);

  constructor(
    private readonly api: Pick<ControlsApi, 'paceState' | 'setBandwidthLimit' | 'setConcurrencyBounds'>,
    private readonly notices: NoticeManager,
  ) {}

  get state(): PaceState | null {
    return this.#state;
  }

  /** The limit of a scope (null: all uploads), or undefined when none is set. */
  limitOf(destinationId: number | null): BandwidthLimit | undefined {
    return this.#state?.limits.find((l) => l.destinationId === destinationId);
  }

  /** "Limited to 50 MB/s (timetable: until 20:00)" while a limit holds uploads back; null otherwise. */
  get line(): string | null {
    return this.#state ? paceLine(this.#state) : null;
  }

  async refresh(): Promise<void> {
    try {
      this.#state = await this.api.paceState();
    } catch {
      // The link is down: the connection line speaks for it, and the next look tries again.
    }
  }

  watch(): () => void {
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), POLL_MS);
    return () => clearInterval(timer);
  }

  async setLimit(input: BandwidthLimitInput, label: string): Promise<Outcome<unknown>> {
    const out = await attempt('setBandwidthLimit', () => this.api.setBandwidthLimit(input));
    if (out.ok) {
      this.notices.success(input.bytesPerSecond === null && input.schedule.length === 0 ? `Removed the limit for ${label}.` : `Saved the limit for ${label}; running uploads follow it now.`);
      await this.refresh();
    }
    return out;
  }

  async setBounds(destinationId: number, bounds: { min: number; max: number } | null, name: string): Promise<Outcome<unknown>> {
    const out = await attempt('setConcurrencyBounds', () => this.api.setConcurrencyBounds(destinationId, bounds));
    if (out.ok) {
      this.notices.success(bounds ? `Automatic concurrency for ${name}: ${bounds.min} to ${bounds.max} parts at once.` : `${name} is back to its fixed concurrency.`);
      await this.refresh();
    }
    return out;
  }
}
