// What the status line (the app's sidebar, the tray's tooltip) says while a bandwidth limit holds
// uploads back: "Limited to 50 MB/s (timetable: until 20:00)". Pure, so both say the same.
import type { PaceState } from './controls.js';
import type { BandwidthLimit } from './types.js';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function rate(bytesPerSecond: number): string {
  const mb = bytesPerSecond / 1e6;
  return `${mb >= 100 || Number.isInteger(mb) ? mb.toFixed(0) : mb.toFixed(1)} MB/s`;
}

/** "20:00" today, "Mon 09:00" another day (local time). */
export function whenText(at: Date, now: Date): string {
  const hhmm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay ? hhmm : `${DAY_NAMES[at.getDay()]} ${hhmm}`;
}

/** "50 MB/s (timetable: until 20:00)": the rate in force, where it comes from and until when. */
export function limitNow(l: BandwidthLimit, now: Date): string {
  if (l.effectiveBytesPerSecond === null) return 'unlimited';
  const until = l.changesAt ? `until ${whenText(new Date(l.changesAt), now)}` : '';
  const why = l.fromTimetable ? `timetable${until ? `: ${until}` : ''}` : until;
  return `${rate(l.effectiveBytesPerSecond)}${why ? ` (${why})` : ''}`;
}

/** The line for the limit holding uploads back now (the tightest, if several), or null. */
export function paceLine(state: PaceState, now: Date = new Date()): string | null {
  const holding = state.limits.filter((l) => l.holding && l.effectiveBytesPerSecond !== null);
  if (holding.length === 0) return null;
  const tightest = holding.reduce((a, b) => (b.effectiveBytesPerSecond! < a.effectiveBytesPerSecond! ? b : a));
  const who = tightest.destinationId === null ? 'Limited' : `${state.destinations.find((d) => d.destinationId === tightest.destinationId)?.name ?? `Destination ${tightest.destinationId}`} limited`;
  return `${who} to ${limitNow(tightest, now)}`;
}
