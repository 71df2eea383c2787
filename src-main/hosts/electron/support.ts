// Support in the desktop app (issue 14): "Reveal log file" shows hoist.log in the system's file
// manager (shell.showItemInFolder); "Export diagnostics…" asks where to save and writes the
// diagnostics file there (engine/support/diagnostics.ts: no secret goes in, the saved credentials'
// values included), then reveals it. For Hoist's own page only, like every other channel.
import fs from 'node:fs';
import path from 'node:path';
import { app, dialog, ipcMain, shell, type BrowserWindow } from 'electron';
import type { Unsubscribe } from '../../../shared/contract.js';
import { HoistError } from '../../../shared/errors.js';
import { toErrorInfo } from '../../engine/s3/errors.js';
import type { SecretStore } from '../../engine/secrets.js';
import { diagnosticsArchive, type DiagnosticsEngine } from '../../engine/support/diagnostics.js';
import { SUPPORT_CHANNELS, type CommandAnswer } from './channels.js';
import type { SenderCheck } from './ipc.js';

export interface SupportSource {
  engine: DiagnosticsEngine;
  logFile: string;
  secrets: SecretStore;
}

export function registerSupport(source: SupportSource, windowOf: () => BrowserWindow | null, isTrustedSender: SenderCheck): Unsubscribe {
  const handle = (channel: string, fn: (win: BrowserWindow) => Promise<unknown>) =>
    ipcMain.handle(channel, async (event): Promise<CommandAnswer> => {
      const win = windowOf();
      if (!isTrustedSender(event) || !win) {
        return { ok: false, error: new HoistError('config.invalid', { message: 'Refused: the request did not come from Hoist’s own window.' }).info };
      }
      try {
        return { ok: true, result: (await fn(win)) ?? null };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) };
      }
    });
  handle(SUPPORT_CHANNELS.reveal, async () => {
    // Before the first line is written there is no file yet: its folder is shown instead.
    if (fs.existsSync(source.logFile)) shell.showItemInFolder(source.logFile);
    else await shell.openPath(path.dirname(source.logFile));
  });
  handle(SUPPORT_CHANNELS.export, async (win) => {
    const archive = await diagnosticsArchive(source.engine, { logFile: source.logFile, secrets: source.secrets, host: 'desktop' });
    const chosen = await dialog.showSaveDialog(win, {
      title: 'Export diagnostics',
      defaultPath: path.join(app.getPath('downloads'), archive.fileName),
      filters: [{ name: 'Diagnostics', extensions: ['tar.gz', 'gz'] }],
    });
    if (chosen.canceled || !chosen.filePath) return null;
    await fs.promises.writeFile(chosen.filePath, archive.data, { mode: 0o600 });
    shell.showItemInFolder(chosen.filePath);
    return chosen.filePath;
  });
  return () => {
    ipcMain.removeHandler(SUPPORT_CHANNELS.reveal);
    ipcMain.removeHandler(SUPPORT_CHANNELS.export);
  };
}
