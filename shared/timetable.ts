// The bandwidth timetable (issue 6, weekly since issue 14): windows of local time, each on some days
// of the week or every day, with their own rate. Pure, so the engine (which applies it), the CLI (which
// parses and prints it), the renderer (which edits and shows it) and the tray read it the same way.
//
// A window "Mon-Fri 09:00-18:00" is in force on those days from 09:00 to 18:00; one whose end is before
// its start runs past midnight into the next day ("Fri 20:00-06:00" holds until Saturday 06:00); a
// window with no days holds every day (the daily windows of before). "24:00" ends a window at midnight.
// The first window in force wins; outside every window the limit's own rate applies.
import type { BandwidthWindow, Weekday } from './types.js';

/** Sunday first, as Date.getDay() counts. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const satisfies readonly Weekday[];
/** Monday first, as a week is shown. */
export const WEEK_ORDER: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;
const DAY_MINUTES = 24 * 60;

/** Minutes after midnight of "HH:MM"; "24:00" (the end of a day) only where `end` is set. NaN when not a time. */
export function minutesOf(hhmm: string, end = false): number {
  if (end && hhmm === '24:00') return DAY_MINUTES;
  const m = HHMM.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
}

export function isWeekday(s: string): s is Weekday {
  return (WEEKDAYS as readonly string[]).includes(s);
}

/**
 * "Mon-Fri", "sat,sun", "Fri-Mon" (wraps), "weekdays", "weekends", "Tuesday": the days named, in
 * week order; null when the text is not a list of days.
 */
export function parseDays(text: string): Weekday[] | null {
  const chosen = new Set<Weekday>();
  for (const raw of text.toLowerCase().split(/[,\s]+/).filter(Boolean)) {
    if (raw === 'weekdays') WEEK_ORDER.slice(0, 5).forEach((d) => chosen.add(d));
    else if (raw === 'weekends' || raw === 'weekend') ['sat', 'sun'].forEach((d) => chosen.add(d as Weekday));
    else if (raw === 'daily' || raw === 'everyday') WEEKDAYS.forEach((d) => chosen.add(d));
    else {
      const [a, b, extra] = raw.split('-').map((d) => d.slice(0, 3));
      if (extra !== undefined || !a || !isWeekday(a) || (b !== undefined && !isWeekday(b))) return null;
      // A range walks forward through the week, past Sunday if it must.
      for (let i = WEEKDAYS.indexOf(a); ; i = (i + 1) % 7) {
        chosen.add(WEEKDAYS[i]!);
        if (b === undefined || WEEKDAYS[i] === b) break;
      }
    }
  }
  return chosen.size ? WEEK_ORDER.filter((d) => chosen.has(d)) : null;
}

/** "Mon-Fri", "Sat, Sun", "Mon, Wed-Fri"; '' for every day. */
export function formatDays(days: readonly Weekday[] | undefined): string {
  if (!days || days.length === 0 || days.length === 7) return '';
  const on = WEEK_ORDER.map((d) => days.includes(d));
  const runs: string[] = [];
  const name = (i: number) => WEEK_ORDER[i]![0]!.toUpperCase() + WEEK_ORDER[i]!.slice(1);
  for (let i = 0; i < 7; i++) {
    if (!on[i]) continue;
    let j = i;
    while (j + 1 < 7 && on[j + 1]) j++;
    runs.push(j - i >= 2 ? `${name(i)}-${name(j)}` : j === i ? name(i) : `${name(i)}, ${name(j)}`);
    i = j;
  }
  return runs.join(', ');
}

/** "Mon-Fri 09:00-18:00", "20:00-06:00", "Sat, Sun" (the whole day). */
export function formatWindowTimes(w: Pick<BandwidthWindow, 'from' | 'to' | 'days'>): string {
  const days = formatDays(w.days);
  const whole = w.from === '00:00' && w.to === '24:00';
  const times = whole ? (days ? '' : 'all day') : `${w.from}-${w.to}`;
  return [days, times].filter(Boolean).join(' ');
}

function onDay(w: Pick<BandwidthWindow, 'days'>, day: number): boolean {
  return !w.days || w.days.length === 0 || w.days.includes(WEEKDAYS[((day % 7) + 7) % 7]!);
}

/** Whether the window holds at `at` (local time). */
export function windowHolds(w: Pick<BandwidthWindow, 'from' | 'to' | 'days'>, at: Date): boolean {
  const now = at.getHours() * 60 + at.getMinutes();
  const day = at.getDay();
  const from = minutesOf(w.from);
  const to = minutesOf(w.to, true);
  if (from < to) return onDay(w, day) && now >= from && now < to;
  // Past midnight: the evening of a day it holds on, or the morning after one.
  return (onDay(w, day) && now >= from) || (onDay(w, day - 1) && now < to);
}

/** The first window in force at `at`, or null (the limit's own rate applies). */
export function windowInForce<W extends Pick<BandwidthWindow, 'from' | 'to' | 'days'>>(schedule: readonly W[], at: Date): W | null {
  return schedule.find((w) => windowHolds(w, at)) ?? null;
}

/** The rate in force at `at`: the first window holding then, else the base rate. */
export function rateAt(limit: { bytesPerSecond: number | null; schedule: readonly BandwidthWindow[] }, at: Date): number | null {
  const w = windowInForce(limit.schedule, at);
  return w ? w.bytesPerSecond : limit.bytesPerSecond;
}

/** When the rate in force next changes (a window begins or ends with another rate), within a week; null: never. */
export function nextRateChange(limit: { bytesPerSecond: number | null; schedule: readonly BandwidthWindow[] }, at: Date): Date | null {
  if (limit.schedule.length === 0) return null;
  const now = rateAt(limit, at);
  const candidates: number[] = [];
  for (let offset = 0; offset <= 8; offset++) {
    for (const w of limit.schedule) {
      for (const [hhmm, end] of [[w.from, false], [w.to, true]] as const) {
        const minutes = minutesOf(hhmm, end);
        const t = new Date(at.getFullYear(), at.getMonth(), at.getDate() + offset, 0, minutes);
        if (t.getTime() > at.getTime()) candidates.push(t.getTime());
      }
    }
  }
  for (const t of [...new Set(candidates)].sort((a, b) => a - b)) if (rateAt(limit, new Date(t)) !== now) return new Date(t);
  return null;
}
