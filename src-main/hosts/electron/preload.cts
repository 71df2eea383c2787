// The renderer's only door to Hoist: `window.hoist`, a HoistApi over IPC. Sandboxed and
// context-isolated, so this file may load nothing but `electron` at run time (the imports below
// are types only). A failed command rejects with its ErrorInfo, as the WebSocket client does.
// Beside it, `window.hoistFiles` (shared/local-files.ts): paths of dropped files and native pickers;
// and `window.hoistSupport` (shared/records.ts): reveal the log file, save a diagnostics file.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { HoistApi, HoistCommand } from '../../../shared/contract.js';
import type { DesktopFiles } from '../../../shared/local-files.js';
import type { DesktopSupport } from '../../../shared/records.js';
import type { CommandAnswer, CommandChannel, EVENT_CHANNELS, OPEN_PATHS_CHANNEL, PICK_CHANNEL, SUPPORT_CHANNELS } from './channels.js';

const EVENTS: typeof EVENT_CHANNELS = { job: 'hoist:event:job', progress: 'hoist:event:progress', remote: 'hoist:event:remote', runner: 'hoist:event:runner' };

async function invoke<K extends HoistCommand>(name: K, args: Parameters<HoistApi[K]>): Promise<Awaited<ReturnType<HoistApi[K]>>> {
  const channel: CommandChannel = `hoist:command:${name}`;
  const answer = (await ipcRenderer.invoke(channel, ...args)) as CommandAnswer;
  if (!answer.ok) throw answer.error;
  return answer.result as Awaited<ReturnType<HoistApi[K]>>;
}

function subscribe<T>(channel: string, listener: (value: T) => void): () => void {
  // The IPC event itself (with its sender) never reaches the page.
  const handler = (_event: IpcRendererEvent, value: T) => listener(value);
  ipcRenderer.on(channel, handler);
  return () => {
    ipcRenderer.removeListener(channel, handler);
  };
}

const hoist = {
  listJobs: (...a) => invoke('listJobs', a),
  getJob: (...a) => invoke('getJob', a),
  listFolders: (...a) => invoke('listFolders', a),
  listDestinations: (...a) => invoke('listDestinations', a),
  totals: (...a) => invoke('totals', a),
  listRemoteUploads: (...a) => invoke('listRemoteUploads', a),
  addFolder: (...a) => invoke('addFolder', a),
  removeFolder: (...a) => invoke('removeFolder', a),
  setFolderWebhook: (...a) => invoke('setFolderWebhook', a),
  setFolderPriority: (...a) => invoke('setFolderPriority', a),
  saveDestination: (...a) => invoke('saveDestination', a),
  removeDestination: (...a) => invoke('removeDestination', a),
  testConnection: (...a) => invoke('testConnection', a),
  pauseJob: (...a) => invoke('pauseJob', a),
  resumeJob: (...a) => invoke('resumeJob', a),
  cancelJob: (...a) => invoke('cancelJob', a),
  retryJob: (...a) => invoke('retryJob', a),
  setPriority: (...a) => invoke('setPriority', a),
  pauseAll: (...a) => invoke('pauseAll', a),
  resumeAll: (...a) => invoke('resumeAll', a),
  actOnJobs: (...a) => invoke('actOnJobs', a),
  abortRemoteUpload: (...a) => invoke('abortRemoteUpload', a),
  abortOrphans: (...a) => invoke('abortOrphans', a),
  installLifecycleRule: (...a) => invoke('installLifecycleRule', a),
  runnerState: (...a) => invoke('runnerState', a),
  listDirectory: (...a) => invoke('listDirectory', a),
  previewSend: (...a) => invoke('previewSend', a),
  sendFiles: (...a) => invoke('sendFiles', a),
  sendDefaults: (...a) => invoke('sendDefaults', a),
  setupInfo: (...a) => invoke('setupInfo', a),
  testDraftDestination: (...a) => invoke('testDraftDestination', a),
  useLocalTestServer: (...a) => invoke('useLocalTestServer', a),
  listBatches: (...a) => invoke('listBatches', a),
  retryBatch: (...a) => invoke('retryBatch', a),
  listWebhookDeliveries: (...a) => invoke('listWebhookDeliveries', a),
  retryWebhookDeliveries: (...a) => invoke('retryWebhookDeliveries', a),
  lifecycleRule: (...a) => invoke('lifecycleRule', a),
  supportInfo: (...a) => invoke('supportInfo', a),
  paceState: (...a) => invoke('paceState', a),
  setBandwidthLimit: (...a) => invoke('setBandwidthLimit', a),
  setConcurrencyBounds: (...a) => invoke('setConcurrencyBounds', a),
  getSettings: (...a) => invoke('getSettings', a),
  saveSettings: (...a) => invoke('saveSettings', a),
  onJobChanged: (listener) => subscribe(EVENTS.job, listener),
  onProgress: (listener) => subscribe(EVENTS.progress, listener),
  onRemoteChanged: (listener) => subscribe(EVENTS.remote, listener),
  onRunnerChanged: (listener) => subscribe(EVENTS.runner, listener),
} satisfies HoistApi;

const PICK: typeof PICK_CHANNEL = 'hoist:pick';
const OPEN_PATHS: typeof OPEN_PATHS_CHANNEL = 'hoist:open-paths';

const hoistFiles = {
  // A File from a drop carries its path only here, in the preload (Electron 32+: webUtils); '' for one that has none.
  pathsOf: (files) => files.map((f) => webUtils.getPathForFile(f as Parameters<typeof webUtils.getPathForFile>[0])).filter((p) => p !== ''),
  choose: async (kind) => {
    const answer = (await ipcRenderer.invoke(PICK, kind === 'folders' ? 'folders' : 'files')) as CommandAnswer;
    if (!answer.ok) throw answer.error;
    return answer.result as string[];
  },
  onOpen: (listener) => subscribe<string[]>(OPEN_PATHS, listener),
} satisfies DesktopFiles;

const SUPPORT: typeof SUPPORT_CHANNELS = { reveal: 'hoist:support:reveal', export: 'hoist:support:export' };

async function ask<T>(channel: string): Promise<T> {
  const answer = (await ipcRenderer.invoke(channel)) as CommandAnswer;
  if (!answer.ok) throw answer.error;
  return answer.result as T;
}

// "Reveal log file" and "Export diagnostics…" (support.ts in the main process).
const hoistSupport = {
  revealLogFile: () => ask<void>(SUPPORT.reveal),
  exportDiagnostics: () => ask<string | null>(SUPPORT.export),
} satisfies DesktopSupport;

contextBridge.exposeInMainWorld('hoist', hoist);
contextBridge.exposeInMainWorld('hoistSupport', hoistSupport);
contextBridge.exposeInMainWorld('hoistFiles', hoistFiles);
