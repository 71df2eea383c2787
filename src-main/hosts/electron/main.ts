// The desktop app: one instance, one locked-down window over the engine, a tray, notifications, the
// dock/taskbar progress, start at login, and files handed to it (dock icon, command line) to send.
// Thin on purpose: the engine, the API and the argument checks are the same the headless host uses.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, app, safeStorage, session, shell, type IpcMainInvokeEvent, type Session } from 'electron';
import type { HoistApi, Unsubscribe } from '../../../shared/contract.js';
import { DEFAULT_SETTINGS } from '../../../shared/controls.js';
import { defaultDbPath } from '../../engine/app-data.js';
import { logFilePath } from '../../engine/log-file.js';
import { pathsFromArgv } from '../desktop/launch.js';
import { desktopProgress } from '../desktop/progress.js';
import { OPEN_PATHS_CHANNEL } from './channels.js';
import { applyLoginItem, thisStartIsAtLogin } from './login-item.js';
import { logger } from '../../engine/log.js';
import { CredentialSource, resolveAwsSettings } from '../../engine/s3/connection.js';
import { firstRunWiring } from '../../engine/setup/setup-service.js';
import { openRuntime, type HoistRuntime } from '../../runtime/runtime.js';
import { forwardEvents, registerCommandHandlers } from './ipc.js';
import { desktopRoots, registerPickers } from './local-files.js';
import { notifyRebuilt, notifyWhenJobsEnd, notifyWhenSourcesKept } from './notifications.js';
import { rebuildSummary } from '../../engine/rebuild-summary.js';
import { RENDERER_ENTRY, isRendererUrl, registerRendererScheme, serveRenderer } from './renderer-protocol.js';
import { SafeStorageSecretStore } from './secret-store.js';
import { registerSupport } from './support.js';
import { createTray } from './tray.js';

/** Compiled to build/src-main/hosts/electron/; the renderer is built to build/renderer/. */
const RENDERER_DIR = fileURLToPath(new URL('../../../renderer/', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./preload.cjs', import.meta.url));
const log = logger('desktop');
/** Permissions a page of ours may use; every other request (camera, geolocation, …) is refused. */
const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write']);

interface Running {
  runtime: HoistRuntime;
  stops: Unsubscribe[];
}

let running: Running | null = null;
let window: BrowserWindow | null = null;
/** Files handed to the app before its page could take them (a drop on the dock icon at launch). */
let pendingPaths: string[] = [];
let pageReady = false;

/** Sends dropped or named files to the send sheet, now or once the page has loaded. */
function openPaths(paths: readonly string[]): void {
  pendingPaths.push(...paths);
  if (!pageReady || !window || window.isDestroyed() || pendingPaths.length === 0) return;
  window.webContents.send(OPEN_PATHS_CHANNEL, pendingPaths);
  pendingPaths = [];
}

const launchPaths = (argv: readonly string[], cwd: string) => pathsFromArgv(argv, { cwd, defaultApp: process.defaultApp ?? false, exists: (p) => fs.existsSync(p) });

function showWindow(): void {
  if (!running) return;
  if (!window || window.isDestroyed()) window = createWindow(running.runtime.api);
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

function createWindow(api: HoistApi): BrowserWindow {
  const win = new BrowserWindow({
    width: 1360,
    height: 860,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Hoist',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  pageReady = false;
  win.webContents.on('did-finish-load', () => {
    pageReady = true;
    openPaths([]);
  });
  forwardEvents(api, win.webContents);
  void win.loadURL(RENDERER_ENTRY);
  return win;
}

/** Only the top frame of our own window, showing our own renderer, may call the engine. */
function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return window !== null && !window.isDestroyed() && event.sender === window.webContents && frame !== null && frame.parent === null && isRendererUrl(frame.url);
}

function lockDown(ses: Session): void {
  ses.setPermissionRequestHandler((contents, permission, callback) => callback(ALLOWED_PERMISSIONS.has(permission) && isRendererUrl(contents.getURL())));
  ses.setPermissionCheckHandler((_contents, permission, origin) => ALLOWED_PERMISSIONS.has(permission) && isRendererUrl(origin));
  app.on('web-contents-created', (_event, contents) => {
    // No new windows: a web link opens in the user's browser, anything else goes nowhere.
    contents.setWindowOpenHandler(({ url }) => {
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
    contents.on('will-navigate', (event, url) => {
      if (!isRendererUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

// In a checkout, node_modules' better-sqlite3 is built for Node (the CLI's); scripts/start.sh builds Electron's copy here.
const ELECTRON_SQLITE_ADDON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../electron-native/better_sqlite3.node');

async function start(): Promise<void> {
  app.setAppUserModelId('app.hoist.desktop');
  lockDown(session.defaultSession);
  serveRenderer(session.defaultSession, RENDERER_DIR);

  const secrets = new SafeStorageSecretStore(path.join(app.getPath('userData'), 'credentials.json'), safeStorage);
  // A first run: from a checkout (never packaged) the local test server may be offered; its destination gets its keys.
  const firstRun = firstRunWiring({ dbPath: defaultDbPath(), packaged: app.isPackaged, secrets });
  const { caBundle } = await resolveAwsSettings();
  // The same database (and log file beside it) the `hoist` command uses, so either can resume what the other began.
  const runtime = await openRuntime({
    engine: {
      credentials: new CredentialSource(firstRun.secrets),
      scheduler: { caBundle },
      ...(!app.isPackaged && fs.existsSync(ELECTRON_SQLITE_ADDON) ? { sqliteNativeBinding: ELECTRON_SQLITE_ADDON } : {}),
    },
    // Dropped and picked files are checked against these like the headless host's --root folders.
    api: { secrets, roots: desktopRoots(), setup: firstRun.setup },
  });
  const { engine, api } = runtime;
  // Destinations whose keys were sealed before Hoist recorded it: other processes then refuse them rather than use other credentials.
  for (const d of engine.store.listDestinations()) if (d.credentials !== 'saved' && (await secrets.has(d.id))) engine.store.setCredentialOrigin(d.id, 'saved');
  if (engine.rebuilt) {
    const lines = rebuildSummary(engine.rebuilt, runtime.adoptions ?? []);
    log.warn(`the database was damaged (kept at ${engine.rebuilt.movedAside}). ${lines.join(' ')}`);
    notifyRebuilt(lines);
  }
  // No terminal here: a full disk under the database goes to the log file a user can send.
  engine.on('storage', (s) => (s.full ? log.warn(`db.full: ${s.error.message} Uploads wait until there is room.`) : log.info(`the database has room again (${s.recorded} acknowledged part(s) recorded)`)));
  running = { runtime, stops: [] };
  // The app's settings (Settings screen): notifications per kind, start at login.
  let settings = await api.getSettings().catch(() => DEFAULT_SETTINGS);
  applyLoginItem(settings.startAtLogin);
  const settingsChanged = api.onSettingsChanged((s) => {
    if (s.startAtLogin !== settings.startAtLogin) applyLoginItem(s.startAtLogin);
    settings = s;
  });
  running.stops.push(registerCommandHandlers(api, isTrustedSender), registerPickers(() => window, isTrustedSender), registerSupport({ engine, logFile: runtime.logPath ?? logFilePath(runtime.dbPath), secrets }, () => window, isTrustedSender), notifyWhenJobsEnd(api, () => settings), notifyWhenSourcesKept(api), settingsChanged);
  const tray = createTray(api, {
    show: showWindow,
    quit: () => app.quit(),
    // The dock or taskbar shows how far the unfinished uploads are.
    totals: (t) => {
      const p = desktopProgress(t);
      if (window && !window.isDestroyed()) window.setProgressBar(p.fraction, { mode: p.mode });
    },
  });
  running.stops.push(() => tray.dispose());
  // Started at login: the tray only (the queue resumes by itself); otherwise the window, with any files named on the command line.
  if (!thisStartIsAtLogin()) showWindow();
  openPaths(launchPaths(process.argv, process.cwd()));
}

/** Quitting pauses cleanly: running parts stop, the database keeps what was acknowledged, the next start resumes. */
async function stop(): Promise<void> {
  const r = running;
  running = null;
  if (!r) return;
  for (const s of r.stops) s();
  await r.runtime.close();
}

registerRendererScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // A second launch (a file dropped on the dock or taskbar icon, "Open with", the command line): this window comes forward and takes its files.
  app.on('second-instance', (_event, argv, cwd) => {
    showWindow();
    openPaths(launchPaths(argv, cwd));
  });
  // macOS hands files over as events, from before the app is ready.
  app.on('open-file', (event, file) => {
    event.preventDefault();
    if (running) showWindow();
    openPaths([file]);
  });
  app.on('activate', showWindow);
  app.on('window-all-closed', () => {
    // macOS keeps an app alive without windows (the tray and the dock reopen it).
    if (process.platform !== 'darwin') app.quit();
  });
  let stopping: Promise<void> | null = null;
  app.on('before-quit', (event) => {
    if (!running && !stopping) return;
    event.preventDefault();
    stopping ??= stop().finally(() => {
      stopping = null;
      app.quit();
    });
  });
  app.whenReady().then(start, (err: unknown) => {
    log.error(`could not start: ${(err as Error)?.stack ?? String(err)}`);
    app.exit(1);
  });
}
