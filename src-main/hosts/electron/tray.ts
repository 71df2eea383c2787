// The tray: overall progress at a glance (tooltip and first line; the dock/taskbar bar beside it),
// pause all and resume all, and the bandwidth presets for all uploads, without opening the window.
// The menu is built from data (hosts/desktop/tray-menu.ts); this file only draws it.
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import type { HoistApi } from '../../../shared/contract.js';
import { paceLine } from '../../../shared/pace-line.js';
import type { Totals } from '../../../shared/types.js';
import { statusLine, trayTooltip } from '../desktop/progress.js';
import { presetInput, trayMenu, type TrayItem } from '../desktop/tray-menu.js';

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

export interface TrayActions {
  show(): void;
  quit(): void;
  /** Every refresh's totals, for the dock/taskbar bar. */
  totals(t: Totals): void;
}

export function createTray(api: HoistApi, actions: TrayActions): { dispose(): void } {
  const tray = new Tray(trayIcon());
  const refresh = async () => {
    const [totals, pace] = await Promise.all([api.totals(), api.paceState()]);
    actions.totals(totals);
    const line = paceLine(pace);
    tray.setToolTip(trayTooltip(totals, line));
    const global = pace.limits.find((l) => l.destinationId === null);
    const count = (s: string) => totals.byState[s] ?? 0;
    const model = trayMenu({ status: statusLine(totals), paceLine: line, globalLimit: global, pausable: count('queued') + count('running'), resumable: count('paused') });
    const run = (p: Promise<unknown>) => void p.then(refresh).catch(() => undefined);
    const draw = (item: TrayItem): MenuItemConstructorOptions => {
      switch (item.kind) {
        case 'label':
          return { label: item.label, enabled: false };
        case 'separator':
          return { type: 'separator' };
        case 'submenu':
          return { label: item.label, submenu: item.items.map(draw) };
        case 'preset':
          return { label: item.label, type: 'radio', checked: item.checked, click: () => run(api.setBandwidthLimit(presetInput(global, item.bytesPerSecond))) };
        case 'action': {
          const click = { show: actions.show, quit: actions.quit, 'pause-all': () => run(api.pauseAll()), 'resume-all': () => run(api.resumeAll()) }[item.action];
          return { label: item.label, enabled: item.enabled, click };
        }
      }
    };
    // Some Linux panels show no tooltip: the first menu lines say the same.
    tray.setContextMenu(Menu.buildFromTemplate(model.map(draw)));
  };
  tray.on('click', actions.show);
  const timer = setInterval(() => void refresh().catch(() => undefined), REFRESH_MS);
  void refresh().catch(() => undefined);
  return {
    dispose() {
      clearInterval(timer);
      tray.destroy();
    },
  };
}
