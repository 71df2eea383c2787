// The renderer's one door to a host: Electron's preload (`window.hoist`) or, in a browser, a
// WebSocket client to the headless host's bridge (protocol in shared/bridge.ts). Screens never know
// which one they hold. Authentication is the host's HttpOnly cookie, which the browser sends with
// the upgrade; the page never sees the token. Failed calls reject with the plain ErrorInfo, as the
// preload's do, so errors read the same under both hosts.
import { BRIDGE_PATH, type BridgeRequest, type BridgeServerMessage } from '../../shared/bridge.js';
import type { HoistApi, HoistCommand, HoistEvent, RunnerState, Unsubscribe } from '../../shared/contract.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { DesktopFiles } from '../../shared/local-files.js';
import type { DesktopSupport } from '../../shared/records.js';
import type { Job, JobProgress } from '../../shared/types.js';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Failed attempts since the last open connection. */
  failures: number;
  /** Bumped on every (re)connection, so views can reload what they may have missed. */
  generation: number;
}

/** What the renderer holds: the contract plus, for the WebSocket client, its connection's health. */
export interface ConnectedApi {
  api: HoistApi;
  /** Null under Electron: the preload is always there. */
  onStatus: ((listener: (status: ConnectionStatus) => void) => Unsubscribe) | null;
  /** Dropped files' paths and native pickers: the desktop app's preload only; null in a browser (the host's file browser instead). */
  files: DesktopFiles | null;
  /** "Reveal log file" and "Export diagnostics…" through the shell: the desktop app's preload only; null in a browser (the host's downloads instead). */
  support: DesktopSupport | null;
}

declare global {
  interface Window {
    hoist?: HoistApi;
    hoistFiles?: DesktopFiles;
    hoistSupport?: DesktopSupport;
  }
}

export function connectApi(): HoistApi {
  return connect().api;
}

export function connect(): ConnectedApi {
  if (window.hoist) return { api: window.hoist, onStatus: null, files: window.hoistFiles ?? null, support: window.hoistSupport ?? null };
  const client = new BridgeClient(bridgeUrl());
  return { api: client.api, onStatus: (l) => client.onStatus(l), files: null, support: null };
}

function bridgeUrl(): string {
  return `${window.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${window.location.host}${BRIDGE_PATH}`;
}

interface Pending {
  method: string;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: ErrorInfo) => void;
  sent: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** How long a call made while disconnected waits for the connection to come back. */
const WAIT_FOR_CONNECTION_MS = 15_000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export class BridgeClient {
  readonly api: HoistApi;
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = {
    job: new Set<(job: Job) => void>(),
    progress: new Set<(progress: JobProgress[]) => void>(),
    remote: new Set<(destinationId: number) => void>(),
    runner: new Set<(state: RunnerState) => void>(),
  };
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private status: ConnectionStatus = { state: 'connecting', failures: 0, generation: 0 };
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private everOpened = false;

  constructor(private readonly url: string) {
    this.api = this.makeApi();
    this.open();
  }

  onStatus(listener: (status: ConnectionStatus) => void): Unsubscribe {
    this.statusListeners.add(listener);
    listener(this.status);
    return () => this.statusListeners.delete(listener);
  }

  private setStatus(next: Partial<ConnectionStatus>): void {
    this.status = { ...this.status, ...next };
    for (const l of this.statusListeners) l(this.status);
  }

  private open(): void {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.everOpened = true;
      this.setStatus({ state: 'open', failures: 0, generation: this.status.generation + 1 });
      for (const [id, p] of this.pending) if (!p.sent) this.transmit(id, p);
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      const wasOpen = this.status.state === 'open';
      // Calls on the wire may or may not have been carried out: say so rather than guess.
      for (const [id, p] of this.pending) {
        if (!p.sent) continue;
        this.settle(id);
        p.reject(lostInFlight(p.method));
      }
      const failures = wasOpen ? 0 : this.status.failures + 1;
      this.setStatus({ state: this.everOpened ? 'reconnecting' : 'connecting', failures });
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failures, 6));
      // Jitter, so several tabs do not knock on a restarted host in step.
      this.retryTimer = setTimeout(() => this.open(), delay / 2 + Math.random() * (delay / 2));
    };
  }

  private transmit(id: number, p: Pending): void {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ id, method: p.method, args: p.args } as BridgeRequest));
    p.sent = true;
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (p?.timer) clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: BridgeServerMessage;
    try {
      msg = JSON.parse(data) as BridgeServerMessage;
    } catch {
      return;
    }
    if ('event' in msg) return this.dispatch(msg.event);
    if (msg.id === null) {
      // The host could not read one of our frames: a bug on this side, worth a trace.
      console.error('hoist bridge: the host refused a frame:', 'error' in msg ? msg.error : msg);
      return;
    }
    const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (!p) return;
    this.settle(msg.id as number);
    if ('error' in msg) p.reject({ ...msg.error, operation: msg.error.operation ?? p.method });
    else p.resolve(msg.result);
  }

  private dispatch(event: HoistEvent): void {
    switch (event.type) {
      case 'job':
        for (const l of this.listeners.job) l(event.job);
        break;
      case 'progress':
        for (const l of this.listeners.progress) l(event.progress);
        break;
      case 'remote':
        for (const l of this.listeners.remote) l(event.destinationId);
        break;
      case 'runner':
        for (const l of this.listeners.runner) l(event.runner);
        break;
    }
  }

  call(method: HoistCommand, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const p: Pending = { method, args, resolve, reject, sent: false, timer: undefined };
      this.pending.set(id, p);
      if (this.socket?.readyState === WebSocket.OPEN) return this.transmit(id, p);
      p.timer = setTimeout(() => {
        this.settle(id);
        reject(unreachable(method));
      }, WAIT_FOR_CONNECTION_MS);
    });
  }

  private subscribe<K extends keyof BridgeClient['listeners']>(kind: K, listener: Parameters<BridgeClient['listeners'][K]['add']>[0]): Unsubscribe {
    const set = this.listeners[kind] as Set<typeof listener>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  private makeApi(): HoistApi {
    const c = <R>(method: HoistCommand) => (...args: unknown[]) => this.call(method, args) as Promise<R>;
    return {
      listJobs: c('listJobs'),
      getJob: c('getJob'),
      listFolders: c('listFolders'),
      listDestinations: c('listDestinations'),
      totals: c('totals'),
      listRemoteUploads: c('listRemoteUploads'),
      addFolder: c('addFolder'),
      removeFolder: c('removeFolder'),
      setFolderWebhook: c('setFolderWebhook'),
      setFolderPriority: c('setFolderPriority'),
      saveDestination: c('saveDestination'),
      removeDestination: c('removeDestination'),
      testConnection: c('testConnection'),
      pauseJob: c('pauseJob'),
      resumeJob: c('resumeJob'),
      cancelJob: c('cancelJob'),
      retryJob: c('retryJob'),
      setPriority: c('setPriority'),
      pauseAll: c('pauseAll'),
      resumeAll: c('resumeAll'),
      actOnJobs: c('actOnJobs'),
      abortRemoteUpload: c('abortRemoteUpload'),
      abortOrphans: c('abortOrphans'),
      installLifecycleRule: c('installLifecycleRule'),
      runnerState: c('runnerState'),
      listDirectory: c('listDirectory'),
      previewSend: c('previewSend'),
      sendFiles: c('sendFiles'),
      sendDefaults: c('sendDefaults'),
      setupInfo: c('setupInfo'),
      testDraftDestination: c('testDraftDestination'),
      useLocalTestServer: c('useLocalTestServer'),
      listBatches: c('listBatches'),
      retryBatch: c('retryBatch'),
      listWebhookDeliveries: c('listWebhookDeliveries'),
      retryWebhookDeliveries: c('retryWebhookDeliveries'),
      lifecycleRule: c('lifecycleRule'),
      supportInfo: c('supportInfo'),
      paceState: c('paceState'),
      setBandwidthLimit: c('setBandwidthLimit'),
      setConcurrencyBounds: c('setConcurrencyBounds'),
      getSettings: c('getSettings'),
      saveSettings: c('saveSettings'),
      onJobChanged: (l) => this.subscribe('job', l),
      onProgress: (l) => this.subscribe('progress', l),
      onRemoteChanged: (l) => this.subscribe('remote', l),
      onRunnerChanged: (l) => this.subscribe('runner', l),
    } satisfies HoistApi;
  }

  /** Closes for good (tests, page unload): no reconnection, pending calls rejected. */
  close(): void {
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    for (const [id, p] of this.pending) {
      this.settle(id);
      p.reject(lostInFlight(p.method));
    }
  }
}

function lostInFlight(method: string): ErrorInfo {
  return {
    code: 'net.reset',
    operation: method,
    message: `The connection to Hoist was lost before it answered (${method}). It may or may not have been carried out; the view reloads when the connection is back.`,
  };
}

function unreachable(method: string): ErrorInfo {
  return {
    code: 'net.unreachable',
    operation: method,
    message: 'Hoist is not answering. If you restarted `hoist serve`, open the new address it printed: the access token changes at every start.',
  };
}
