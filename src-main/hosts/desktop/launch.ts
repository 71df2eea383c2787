// What the desktop app was started with (plain logic for hosts/electron/main.ts, tested without
// Electron): the files and folders handed to it on the command line or by a second launch (a drop on
// the dock or taskbar icon, "Open with Hoist"), and whether the system started it at login.
import path from 'node:path';

/** The flag the login item is registered with (Windows, Linux): start in the tray, without a window. */
export const LOGIN_FLAG = '--login';

export interface LaunchContext {
  /** The working directory of the launch that passed argv (second-instance gives the other process's). */
  cwd: string;
  /** Electron run from a checkout (`electron .`, process.defaultApp): argv[1] is the app's folder, not a file. */
  defaultApp: boolean;
  /** Whether a path names an existing file or folder (fs.existsSync in the app). */
  exists: (p: string) => boolean;
}

/**
 * The paths in an argv, resolved against its working directory: not the executable (nor the app's
 * folder under `electron .`), no flags (Chromium adds its own, such as --allow-file-access-from-files,
 * and macOS its -psn_ one), only what exists, each once.
 */
export function pathsFromArgv(argv: readonly string[], ctx: LaunchContext): string[] {
  const args = argv.slice(ctx.defaultApp ? 2 : 1);
  const out: string[] = [];
  let flagsOver = false;
  for (const arg of args) {
    if (!flagsOver && arg === '--') {
      flagsOver = true;
      continue;
    }
    if (!flagsOver && arg.startsWith('-')) continue;
    if (arg === '') continue;
    const full = path.resolve(ctx.cwd, arg);
    if (ctx.exists(full) && !out.includes(full)) out.push(full);
  }
  return out;
}

/** Whether the system started the app at login (the flag on Windows and Linux; macOS says so itself). */
export function startedAtLogin(argv: readonly string[], macWasOpenedAtLogin = false): boolean {
  return macWasOpenedAtLogin || argv.includes(LOGIN_FLAG);
}

/**
 * Linux has no login-item API: an XDG autostart entry (~/.config/autostart/hoist.desktop) does it.
 * `exec` is the app's executable (and, from a checkout, the app's folder after it).
 */
export function linuxAutostartEntry(exec: readonly string[]): string {
  const quoted = [...exec, LOGIN_FLAG].map((a) => (/[\s"'\\$`]/.test(a) ? `"${a.replace(/(["\\$`])/g, '\\$1')}"` : a)).join(' ');
  return ['[Desktop Entry]', 'Type=Application', 'Name=Hoist', 'Comment=Resumable uploads of large media files to S3', `Exec=${quoted}`, 'X-GNOME-Autostart-enabled=true', 'Terminal=false', ''].join('\n');
}
