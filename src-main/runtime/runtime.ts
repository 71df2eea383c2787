// The running process (issue 11): one object owns the engine, the folder watcher, the API the
// hosts carry and the log file, and starts and stops them together, in one order. The desktop app,
// `hoist serve`, `hoist watch` and the queue-working CLI commands all open it the same way.
//
// Start: log file → engine (database opened, rebuilt if damaged) → uploads the bucket still holds
// for watched files adopted (after a rebuild) → API → the runner lease: with it, the engine's work
// (scheduler, webhooks, ASC MHL writer) and then the folder watcher start; without it, the process
// serves commands (they go to the database) and keeps asking for the lease (engine/lease.ts).
// Close: API pushes stop → watcher → engine's work → lease given back → database → log file.
import { EventEmitter } from 'node:events';
import { EngineApi, type EngineApiOptions } from '../engine/api.js';
import { defaultDbPath, describeTarget } from '../engine/app-data.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import type { LeaseAnswer, LeaseState, LeaseTiming } from '../engine/lease.js';
import { NO_DATABASE } from '../engine/node-lease.js';
import { logger, type LogLevel } from '../engine/log.js';
import type { AdoptionReport } from '../engine/remote/adopt.js';
import { FolderWatcher, type FolderWatcherOptions } from '../engine/folders/folder-watcher.js';
import { logFilePath } from '../engine/log-file.js';
import { installLogFile, type LogFile } from './log-file.js';

const log = logger('runtime');

export interface RuntimeOptions {
  /** Default: defaultDbPath() (HOIST_DB, else the application-data folder). */
  dbPath?: string;
  /** Take the runner lease and work the queue (default true); false: commands and queries only. */
  work?: boolean;
  /** Watch the folders while working (default true; `hoist run` and `hoist upload` work without). */
  watch?: boolean;
  /** When another process works the queue, keep asking for the lease and take over when it stops (default true). */
  wait?: boolean;
  engine?: Omit<EngineOptions, 'dbPath'>;
  watcher?: FolderWatcherOptions;
  api?: Omit<EngineApiOptions, 'folders'>;
  /** The log file (default: hoist.log beside the database, level from HOIST_LOG_LEVEL); false: leave the log's destination alone. */
  log?: false | { file?: string; level?: LogLevel; echo?: boolean };
  /** Heartbeat and staleness of the runner lease (tests). */
  lease?: Partial<LeaseTiming>;
}

export interface RuntimeEvents {
  /** Working the queue, waiting for the lease held by pid P on host H, or off. */
  state: [state: LeaseState];
}

export class HoistRuntime extends EventEmitter<RuntimeEvents> {
  readonly engine: Engine;
  readonly folders: FolderWatcher;
  readonly api: EngineApi;
  readonly dbPath: string;
  /** Uploads taken up from the bucket after the damaged database was rebuilt at this start (null: no rebuild). */
  adoptions: AdoptionReport[] | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly opts: RuntimeOptions,
    private readonly logFile: LogFile | null,
  ) {
    super();
    this.dbPath = opts.dbPath ?? defaultDbPath();
    this.engine = new Engine({ ...sharedQueueFromEnv(process.env), ...opts.engine, dbPath: this.dbPath });
    this.folders = new FolderWatcher(this.engine, opts.watcher);
    this.api = new EngineApi(this.engine, { logFile: logFile?.path ?? logFilePath(this.dbPath), ...opts.api, folders: this.folders });
    // A shared queue's database outage is said here, one line each way for every host, on stderr and in
    // the log file; what else failed on the way is logged at info (engine/support/outage.ts).
    let noDatabase = false;
    this.engine.on('lease', (s) => {
      if (s.state === 'waiting' && s.host === NO_DATABASE) {
        if (!noDatabase) log.warn('stopped starting work: the job database cannot be reached; uploads in flight were stopped, nothing recorded is lost; starting again when it answers', { db: describeTarget(this.dbPath) });
        noDatabase = true;
      } else if (s.state === 'working' && noDatabase) {
        noDatabase = false;
        log.warn('the job database answers again: working the queue', { db: describeTarget(this.dbPath) });
      } else if (s.state === 'working') log.info('working the queue', { db: describeTarget(this.dbPath) });
      else if (s.state === 'waiting') log.info(`waiting for the runner lease held by pid ${s.pid} on ${s.host}`, { db: describeTarget(this.dbPath) });
      this.emit('state', s);
    });
  }

  /** The file this process logs to, if it has one. */
  get logPath(): string | null {
    return this.logFile?.path ?? null;
  }

  get state(): LeaseState {
    return this.engine.leaseState;
  }

  /**
   * Takes the lease (or starts asking for it) and starts the work under it, resolving once all of it
   * has started (the watcher's first walks go on in the background). openRuntime calls it when
   * `work` is on; open with `work: false` to add listeners first, then call it.
   */
  async start(): Promise<LeaseAnswer> {
    const watch = this.opts.watch ?? true;
    const answer = this.engine.start({
      wait: this.opts.wait ?? true,
      also: watch ? [{ start: () => this.folders.start(), stop: () => this.folders.stop() }] : [],
      ...(this.opts.lease ? { lease: this.opts.lease } : {}),
    });
    await this.engine.leaseSettled();
    return answer;
  }

  /** Stops everything in order and closes the database and the log file; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.api.dispose();
      try {
        await this.engine.close();
      } finally {
        await this.logFile?.close();
      }
    })();
    return this.closing;
  }
}

/**
 * A queue shared with other processes (issue 15), asked for from the environment: HOIST_SHARED_QUEUE=1
 * on a SQLite file several processes of one machine open (PostgreSQL shares by itself), and
 * HOIST_LEASE_MS, how long a job lease holds without renewal (tests make it short).
 */
export function sharedQueueFromEnv(env: NodeJS.ProcessEnv): Pick<EngineOptions, 'sharedQueue' | 'jobLeaseMs'> {
  const leaseMs = Number(env.HOIST_LEASE_MS);
  return {
    ...(env.HOIST_SHARED_QUEUE === '1' ? { sharedQueue: true } : {}),
    ...(Number.isFinite(leaseMs) && leaseMs > 0 ? { jobLeaseMs: leaseMs } : {}),
  };
}

/** Opens the runtime: the log file, the engine, the watcher and the API; with `work`, takes the lease. */
export async function openRuntime(opts: RuntimeOptions = {}): Promise<HoistRuntime> {
  const dbPath = opts.dbPath ?? defaultDbPath();
  const logFile = opts.log === false ? null : installLogFile({ file: opts.log?.file ?? logFilePath(dbPath), ...(opts.log?.level ? { level: opts.log.level } : {}), ...(opts.log?.echo !== undefined ? { echo: opts.log.echo } : {}) });
  let rt: HoistRuntime;
  try {
    rt = new HoistRuntime({ ...opts, dbPath }, logFile);
  } catch (err) {
    await logFile?.close();
    throw err;
  }
  try {
    if (rt.engine.rebuilt) {
      // Hosts say so in their own words (stderr, a notification); the log file keeps it too.
      log.info(`the database was damaged (kept at ${rt.engine.rebuilt.movedAside}) and rebuilt`);
      // Before anything sends: an upload the bucket still holds for a watched file is taken up, not begun again.
      rt.adoptions = await rt.engine.adoptAfterRebuild();
    }
    if (opts.work ?? true) await rt.start();
  } catch (err) {
    await rt.close();
    throw err;
  }
  return rt;
}

/** Opens the runtime, runs `fn`, and always closes it (awaited), whether `fn` returns or throws. */
export async function withRuntime<T>(opts: RuntimeOptions, fn: (rt: HoistRuntime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
