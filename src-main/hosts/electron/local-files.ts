// Local files in the desktop app: the roots it may send from, and "Add files…" / "Add folder…" as
// the native open dialog, over Hoist's own window, for its own page only. The dialog returns paths;
// queueing them is the HoistApi's sendFiles, which checks them against the roots like any path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dialog, ipcMain, type BrowserWindow } from 'electron';
import { HoistError } from '../../../shared/errors.js';
import type { Unsubscribe } from '../../../shared/contract.js';
import { PICK_CHANNEL, type CommandAnswer } from './channels.js';
import type { SenderCheck } from './ipc.js';

/**
 * The folders the desktop app may send files from: HOIST_ROOTS (folders separated as in PATH) when
 * set; otherwise the user's home and where the system mounts cards and drives (/Volumes on macOS;
 * /media, /run/media and /mnt on Linux; the other drive letters on Windows), those that exist.
 */
export function desktopRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const given = env.HOIST_ROOTS?.split(path.delimiter).filter(Boolean);
  if (given?.length) return given.map((r) => path.resolve(r));
  const volumes =
    process.platform === 'darwin'
      ? ['/Volumes']
      : process.platform === 'win32'
        ? [...'DEFGHIJKLMNOPQRSTUVWXYZ'].map((d) => `${d}:\\`)
        : ['/media', '/run/media', '/mnt'];
  return [os.homedir(), ...volumes.filter((v) => fs.existsSync(v))];
}

export function registerPickers(windowOf: () => BrowserWindow | null, isTrustedSender: SenderCheck): Unsubscribe {
  ipcMain.handle(PICK_CHANNEL, async (event, kind: unknown): Promise<CommandAnswer> => {
    const win = windowOf();
    if (!isTrustedSender(event) || !win) {
      return { ok: false, error: new HoistError('config.invalid', { message: 'Refused: the request did not come from Hoist’s own window.' }).info };
    }
    const folders = kind === 'folders';
    const chosen = await dialog.showOpenDialog(win, {
      title: folders ? 'Send folders' : 'Send files',
      buttonLabel: 'Choose',
      properties: folders ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'],
    });
    return { ok: true, result: chosen.canceled ? [] : chosen.filePaths };
  });
  return () => ipcMain.removeHandler(PICK_CHANNEL);
}
