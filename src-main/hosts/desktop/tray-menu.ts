// The tray's menu as data (plain logic for hosts/electron/tray.ts): the status, show, pause all,
// resume all, the bandwidth presets for all uploads (the timetable kept), quit.
import type { BandwidthLimitInput } from '../../../shared/controls.js';
import type { BandwidthLimit } from '../../../shared/types.js';

export type TrayAction = 'show' | 'pause-all' | 'resume-all' | 'quit';

export type TrayItem =
  | { kind: 'label'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean }
  | { kind: 'submenu'; label: string; items: TrayItem[] }
  /** A bandwidth preset for all uploads: null is unlimited. */
  | { kind: 'preset'; label: string; bytesPerSecond: number | null; checked: boolean };

/** The presets offered, fastest first (decimal MB/s, as transfer tools print them). */
export const LIMIT_PRESETS: readonly (number | null)[] = [null, 100e6, 50e6, 20e6, 10e6];

const label = (b: number | null) => (b === null ? 'Unlimited' : `${b / 1e6} MB/s`);

export interface TrayState {
  status: string;
  /** While a limit holds uploads back (shared/pace-line.ts). */
  paceLine: string | null;
  /** The global limit as set (undefined: none). */
  globalLimit: BandwidthLimit | undefined;
  /** Jobs that pause all / resume all would act on. */
  pausable: number;
  resumable: number;
}

export function trayMenu(s: TrayState): TrayItem[] {
  const base = s.globalLimit?.bytesPerSecond ?? null;
  const presets: TrayItem[] = LIMIT_PRESETS.map((b) => ({ kind: 'preset', label: label(b), bytesPerSecond: b, checked: b === base }));
  // A rate set elsewhere (the app, `hoist limit`) that no preset matches is shown, ticked.
  if (!LIMIT_PRESETS.includes(base)) presets.push({ kind: 'preset', label: `${(base! / 1e6).toFixed(1).replace(/\.0$/, '')} MB/s (set in Hoist)`, bytesPerSecond: base, checked: true });
  if (s.globalLimit?.schedule.length) presets.push({ kind: 'separator' }, { kind: 'label', label: 'The timetable stays in force' });
  return [
    { kind: 'label', label: s.status },
    ...(s.paceLine ? [{ kind: 'label', label: s.paceLine } as const] : []),
    { kind: 'action', action: 'show', label: 'Show Hoist', enabled: true },
    { kind: 'separator' },
    { kind: 'action', action: 'pause-all', label: 'Pause all', enabled: s.pausable > 0 },
    { kind: 'action', action: 'resume-all', label: 'Resume all', enabled: s.resumable > 0 },
    { kind: 'submenu', label: 'Limit all uploads', items: presets },
    { kind: 'separator' },
    { kind: 'action', action: 'quit', label: 'Quit Hoist', enabled: true },
  ];
}

/** What choosing a preset sets: the rate outside the timetable, whose windows stay. */
export function presetInput(current: BandwidthLimit | undefined, bytesPerSecond: number | null): BandwidthLimitInput {
  return { destinationId: null, bytesPerSecond, schedule: current?.schedule ?? [] };
}
