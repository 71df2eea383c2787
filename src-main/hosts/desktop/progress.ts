// The overall progress the desktop shows outside the window (plain logic for hosts/electron/): the
// dock or taskbar bar (BrowserWindow.setProgressBar) and the tray's tooltip and first menu line.
import type { Totals } from '../../../shared/types.js';

export type ProgressMode = 'none' | 'normal' | 'paused' | 'error';

/** setProgressBar's arguments: a fraction in 0..1, or -1 to remove the bar, and the mode (Windows colours it). */
export interface DesktopProgress {
  fraction: number;
  mode: ProgressMode;
}

const count = (t: Totals, state: string) => t.byState[state] ?? 0;

/**
 * The bar: the share of the unfinished jobs' bytes already sent, while anything is moving or waits
 * to; paused when only paused jobs remain; error while failed jobs wait for a retry beside the rest;
 * removed (-1) when nothing is left to send.
 */
export function desktopProgress(t: Totals): DesktopProgress {
  const moving = count(t, 'running') + count(t, 'completing') + count(t, 'queued');
  const paused = count(t, 'paused');
  if (moving + paused === 0 || t.bytesTotal <= 0) return { fraction: -1, mode: 'none' };
  const fraction = Math.min(1, Math.max(0, t.bytesDone / t.bytesTotal));
  if (moving === 0) return { fraction, mode: 'paused' };
  return { fraction, mode: count(t, 'failed') > 0 ? 'error' : 'normal' };
}

/** "Uploading 2 of 5 · 43% · 12.3 MB/s", "3 upload(s) failed", "No uploads waiting". */
export function statusLine(t: Totals): string {
  const active = count(t, 'running') + count(t, 'completing');
  const waiting = count(t, 'queued');
  if (active + waiting === 0) {
    if (count(t, 'failed') > 0) return `${count(t, 'failed')} upload(s) failed`;
    if (count(t, 'paused') > 0) return `${count(t, 'paused')} upload(s) paused`;
    return 'No uploads waiting';
  }
  const percent = t.bytesTotal > 0 ? Math.floor((100 * t.bytesDone) / t.bytesTotal) : 0;
  return `Uploading ${active} of ${active + waiting} · ${percent}% · ${(t.rate / 1e6).toFixed(1)} MB/s`;
}

/** The tray's tooltip: the status line, and the pace line while a limit holds uploads back. */
export function trayTooltip(t: Totals, paceLine: string | null): string {
  return [`Hoist — ${statusLine(t)}`, paceLine].filter(Boolean).join('\n');
}
