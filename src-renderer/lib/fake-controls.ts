// The simulated host's pace and settings (fake-api.ts, `--mode fake` builds only): a weekday
// timetable on the global limit that holds the busy queue back, one destination tuned automatically.
import { DEFAULT_SETTINGS, type AppSettings, type ControlsApi, type DestinationPace } from '../../shared/controls.js';
import { nextRateChange, rateAt, windowInForce } from '../../shared/timetable.js';
import type { BandwidthLimit, Destination } from '../../shared/types.js';

export function fakeControls(destinations: readonly Destination[]): ControlsApi {
  let settings: AppSettings = { ...DEFAULT_SETTINGS, defaultDestinationId: 1 };
  const limits = new Map<number | null, Omit<BandwidthLimit, 'effectiveBytesPerSecond'>>([
    [null, { destinationId: null, bytesPerSecond: 200e6, schedule: [{ from: '09:00', to: '19:00', bytesPerSecond: 120e6, days: ['mon', 'tue', 'wed', 'thu', 'fri'] }, { from: '22:00', to: '06:00', bytesPerSecond: null }] }],
  ]);
  const bounds = new Map<number, { min: number; max: number }>([[1, { min: 4, max: 24 }]]);
  const live = (l: Omit<BandwidthLimit, 'effectiveBytesPerSecond'>): BandwidthLimit => {
    const now = new Date();
    const rate = rateAt(l, now);
    return { ...l, effectiveBytesPerSecond: rate, fromTimetable: windowInForce(l.schedule, now) !== null, changesAt: nextRateChange(l, now)?.toISOString() ?? null, holding: rate !== null && rate < 300e6 };
  };
  const paceOf = (d: Destination): DestinationPace => {
    const auto = bounds.get(d.id) ?? null;
    return {
      destinationId: d.id, name: d.name, concurrency: d.concurrency, automatic: auto, current: auto ? 12 : d.concurrency,
      lastDecision: auto ? { at: new Date(Date.now() - 40_000).toISOString(), destinationId: d.id, from: 9, to: 12, reason: 'rising', measuredBytesPerSecond: 131e6 } : null,
    };
  };
  return {
    paceState: async () => ({ limits: [...limits.values()].map(live), destinations: destinations.map(paceOf), working: true }),
    async setBandwidthLimit(input) {
      if (input.bytesPerSecond === null && input.schedule.length === 0) {
        limits.delete(input.destinationId);
        return null;
      }
      limits.set(input.destinationId, input);
      return live(input);
    },
    async setConcurrencyBounds(destinationId, b) {
      if (b) bounds.set(destinationId, b);
      else bounds.delete(destinationId);
      return paceOf(destinations.find((d) => d.id === destinationId)!);
    },
    getSettings: async () => settings,
    saveSettings: async (s) => (settings = s),
  };
}
