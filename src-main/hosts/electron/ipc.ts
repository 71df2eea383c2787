// One ipcMain handler per command: the sender must be Hoist's own page in Hoist's own window,
// the arguments are validated (hosts/schemas.ts), and only then does the EngineApi run.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { HOIST_COMMANDS, type HoistApi, type Unsubscribe } from '../../../shared/contract.js';
import { HoistError } from '../../../shared/errors.js';
import { logger } from '../../engine/log.js';
import { toErrorInfo } from '../../engine/s3/errors.js';
import { runCommand } from '../dispatch.js';
import { EVENT_CHANNELS, commandChannel, type CommandAnswer } from './channels.js';

const log = logger('desktop');

/** True when the frame is the top frame of our window, showing a page of our renderer. */
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;

export function registerCommandHandlers(api: HoistApi, isTrustedSender: SenderCheck): Unsubscribe {
  for (const name of HOIST_COMMANDS) {
    ipcMain.handle(commandChannel(name), async (event, ...args: unknown[]): Promise<CommandAnswer> => {
      if (!isTrustedSender(event)) {
        log.warn(`refused ${name} from ${event.senderFrame?.url ?? 'an unknown frame'}`);
        return { ok: false, error: new HoistError('config.invalid', { message: 'Refused: the request did not come from Hoist’s own window.' }).info };
      }
      try {
        return { ok: true, result: (await runCommand(api, name, args)) ?? null };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) };
      }
    });
  }
  return () => {
    for (const name of HOIST_COMMANDS) ipcMain.removeHandler(commandChannel(name));
  };
}

/** Pushes the API's events to one window while it lives. */
export function forwardEvents(api: HoistApi, contents: WebContents): Unsubscribe {
  const send = (channel: string, value: unknown) => {
    if (!contents.isDestroyed()) contents.send(channel, value);
  };
  const stops = [
    api.onJobChanged((job) => send(EVENT_CHANNELS.job, job)),
    api.onProgress((progress) => send(EVENT_CHANNELS.progress, progress)),
    api.onRemoteChanged((destinationId) => send(EVENT_CHANNELS.remote, destinationId)),
    api.onRunnerChanged((state) => send(EVENT_CHANNELS.runner, state)),
  ];
  const stop = () => stops.forEach((s) => s());
  contents.once('destroyed', stop);
  return stop;
}
