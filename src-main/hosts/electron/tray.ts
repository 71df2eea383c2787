// The tray: overall progress at a glance, pause all and resume all without opening the window.
import { Menu, Tray, nativeImage, type NativeImage } from 'electron';
import type { HoistApi } from '../../../shared/contract.js';
import type { Totals } from '../../../shared/types.js';

/** Refreshed at most this often: a tray label is read by eye, not animated. */
const REFRESH_MS = 1000;
const ICON_SIZE = 16;

/** An upward arrow on a bar, drawn in code so the tray needs no image file; a template on macOS. */
function trayIcon(): NativeImage {
  const pixels = Buffer.alloc(ICON_SIZE * ICON_SIZE * 4);
  const paint = (x: number, y: number) => pixels.writeUInt32LE(0xff808080, (y * ICON_SIZE + x) * 4);
  for (let y = 1; y <= 7; y++) for (let x = 8 - y; x <= 7 + y; x++) paint(x, y); // the head
  for (let y = 8; y <= 12; y++) for (let x = 6; x <= 9; x++) paint(x, y); // the shaft
  for (let x = 2; x <= 13; x++) for (let y = 14; y <= 15; y++) paint(x, y); // the ground
  const icon = nativeImage.createFromBitmap(pixels, { width: ICON_SIZE, height: ICON_SIZE });
  icon.setTemplateImage(true);
  return icon;
}

export function statusLine(t: Totals): string {
  const count = (state: string) => t.byState[state] ?? 0;
  const active = count('running') + count('completing');
  const waiting = count('queued');
  if (active + waiting === 0) {
    if (count('failed') > 0) return `${count('failed')} upload(s) failed`;
    if (count('paused') > 0) return `${count('paused')} upload(s) paused`;
    return 'No uploads waiting';
  }
  const percent = t.bytesTotal > 0 ? Math.floor((100 * t.bytesDone) / t.bytesTotal) : 0;
  return `Uploading ${active} of ${active + waiting} · ${percent}% · ${(t.rate / 1e6).toFixed(1)} MB/s`;
}

export function createTray(api: HoistApi, actions: { show(): void; quit(): void }): { dispose(): void } {
  const tray = new Tray(trayIcon());
  let changed = true;
  const refresh = async () => {
    if (!changed) return;
    changed = false;
    const line = statusLine(await api.totals());
    tray.setToolTip(`Hoist — ${line}`);
    // Some Linux panels show no tooltip: the first menu line says the same.
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: line, enabled: false },
        { label: 'Show Hoist', click: actions.show },
        { type: 'separator' },
        { label: 'Pause all', click: () => void api.pauseAll().then(markChanged) },
        { label: 'Resume all', click: () => void api.resumeAll().then(markChanged) },
        { type: 'separator' },
        { label: 'Quit Hoist', click: actions.quit },
      ]),
    );
  };
  const markChanged = () => {
    changed = true;
  };
  tray.on('click', actions.show);
  const stops = [api.onJobChanged(markChanged), api.onProgress(markChanged)];
  const timer = setInterval(() => void refresh().catch(() => undefined), REFRESH_MS);
  void refresh().catch(() => undefined);
  return {
    dispose() {
      clearInterval(timer);
      for (const stop of stops) stop();
      tray.destroy();
    },
  };
}
