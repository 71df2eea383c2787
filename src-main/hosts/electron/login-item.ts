// Start at login (the app's settings): the system's login item on macOS and Windows, an XDG autostart
// entry on Linux (hosts/desktop/launch.ts writes its text). Started that way, the app opens in the
// tray and resumes the queue; uploads interrupted by the reboot go on where they stopped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { app } from 'electron';
import { logger } from '../../engine/log.js';
import { LOGIN_FLAG, linuxAutostartEntry, startedAtLogin } from '../desktop/launch.js';

const log = logger('desktop');

function autostartFile(): string {
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'autostart', 'hoist.desktop');
}

export function applyLoginItem(openAtLogin: boolean): void {
  try {
    if (process.platform === 'linux') {
      const file = autostartFile();
      if (!openAtLogin) return void fs.rmSync(file, { force: true });
      // From a checkout, Electron needs the app's folder after it.
      const exec = process.defaultApp ? [process.execPath, app.getAppPath()] : [process.execPath];
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, linuxAutostartEntry(exec));
    } else {
      app.setLoginItemSettings({ openAtLogin, args: [LOGIN_FLAG] });
    }
  } catch (err) {
    log.warn(`could not ${openAtLogin ? 'set' : 'remove'} the login item: ${(err as Error).message}`);
  }
}

/** Whether this start is the login item's: then no window, only the tray. */
export function thisStartIsAtLogin(): boolean {
  return startedAtLogin(process.argv, process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin);
}
