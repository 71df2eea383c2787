// IPC channel names shared by the main process and the preload. The sandboxed preload cannot load
// this file at run time, so it repeats the names typed against these: a drift fails to compile.
import type { HoistCommand } from '../../../shared/contract.js';
import type { ErrorInfo } from '../../../shared/errors.js';

export type CommandChannel = `hoist:command:${HoistCommand}`;

export function commandChannel(name: HoistCommand): CommandChannel {
  return `hoist:command:${name}`;
}

export const EVENT_CHANNELS = {
  job: 'hoist:event:job',
  progress: 'hoist:event:progress',
  remote: 'hoist:event:remote',
  runner: 'hoist:event:runner',
} as const;

/** Paths handed to the app (a drop on its dock/taskbar icon, a second launch's argv), pushed to the send sheet. */
export const OPEN_PATHS_CHANNEL = 'hoist:open-paths';

/** The native open dialog (pickers.ts): the renderer asks, the main process shows it over Hoist's window. */
export const PICK_CHANNEL = 'hoist:pick';

/** What a command handler answers: ipcMain.handle would keep only the message of a thrown error. */
export type CommandAnswer = { ok: true; result: unknown } | { ok: false; error: ErrorInfo };

/** Support (support.ts): reveal the log file in the system's file manager; save a diagnostics file. */
export const SUPPORT_CHANNELS = { reveal: 'hoist:support:reveal', export: 'hoist:support:export' } as const;
