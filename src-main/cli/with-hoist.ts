// How every `hoist` command gets its process: `withHoist(globals, fn)` opens the runtime (engine,
// folder watcher, API, log file: runtime/runtime.ts, as the desktop app and `hoist serve` open it),
// hands it to the command, and closes it (awaited) on every path: success, failure, Ctrl-C and
// SIGTERM. The runtime opens without working the queue; a command that works it calls rt.start().
import { describeError } from '../../shared/errors.js';
import { defaultDbPath } from '../engine/app-data.js';
import { rebuildSummary } from '../engine/rebuild-summary.js';
import { resolveAwsSettings } from '../engine/s3/connection.js';
import type { SchedulerOptions, StorageNotice } from '../engine/scheduler/scheduler.js';
import { logger } from '../engine/log.js';
import { openRuntime, type HoistRuntime, type RuntimeOptions } from '../runtime/runtime.js';
import { EXIT_INTERRUPTED } from './exit-codes.js';

const log = logger('cli');

/** The options every subcommand inherits (hoist --db … --endpoint … SUBCOMMAND). */
export interface GlobalOpts {
  db?: string;
  endpoint?: string;
  region?: string;
  profile?: string;
  pathStyle?: boolean;
}

/** Reads the global options as they were given (commander fills them in before any action runs). */
export type Globals = () => GlobalOpts;

export type StopSignal = 'interrupted' | 'terminated';

export interface CommandScope {
  /**
   * What Ctrl-C or SIGTERM does while the command runs: `stop` says why and stops what the command
   * started; then the runtime closes and the process exits with `status` (130, unless the signal is
   * how the command ends, as for `hoist serve`). A second signal leaves at once: the next start
   * resumes from the database.
   */
  onInterrupt(stop: (signal: StopSignal) => void | Promise<void>, status?: number): void;
}

/** The job database the global options name: --db, else HOIST_DB, else the application-data folder's. */
export function dbPathOf(g: GlobalOpts): string {
  return g.db ?? defaultDbPath();
}

/** Tunables for tests and unusual networks, read from the environment. */
export function schedulerOptionsFromEnv(env = process.env): SchedulerOptions {
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const retry: NonNullable<SchedulerOptions['retry']> = {};
  if (num('HOIST_RETRY_BASE_MS') !== undefined) retry.baseDelayMs = num('HOIST_RETRY_BASE_MS')!;
  if (num('HOIST_RETRY_MAX_MS') !== undefined) retry.maxDelayMs = num('HOIST_RETRY_MAX_MS')!;
  if (num('HOIST_PART_ATTEMPTS') !== undefined) retry.partAttempts = num('HOIST_PART_ATTEMPTS')!;
  if (num('HOIST_JOB_ATTEMPTS') !== undefined) retry.jobAttempts = num('HOIST_JOB_ATTEMPTS')!;
  return {
    retry,
    ...(num('HOIST_IDLE_TIMEOUT_MS') ? { idleTimeoutMs: num('HOIST_IDLE_TIMEOUT_MS')! } : {}),
    ...(num('HOIST_LIST_PAGE_SIZE') ? { listPageSize: num('HOIST_LIST_PAGE_SIZE')! } : {}),
  };
}

export function storageLine(s: StorageNotice): string {
  if (s.full) return `hoist: db.full: ${describeError('db.full')} Uploads wait until there is room; parts the server acknowledges meanwhile are kept in memory.\n  ${s.error.detail ?? ''}\n`;
  return `hoist: the database has room again${s.recorded ? ` (${s.recorded} acknowledged part(s) recorded)` : ''}; uploads go on.\n`;
}

/**
 * Ctrl-C and SIGTERM while a command has its runtime open: the command's stop functions run, the
 * runtime closes, and the process exits; a second signal exits at once.
 */
class Interrupts implements CommandScope {
  happened = false;
  private readonly stops: Array<(signal: StopSignal) => void | Promise<void>> = [];
  private status = EXIT_INTERRUPTED;
  private readonly onSigint = () => this.handle('interrupted');
  private readonly onSigterm = () => this.handle('terminated');

  constructor(private readonly close: () => Promise<void>) {
    process.on('SIGINT', this.onSigint);
    process.on('SIGTERM', this.onSigterm);
  }

  onInterrupt(stop: (signal: StopSignal) => void | Promise<void>, status = EXIT_INTERRUPTED): void {
    this.stops.push(stop);
    this.status = status;
  }

  /** The command ended by itself: signals are the default kind again. */
  dispose(): void {
    if (this.happened) return; // the exit below is still on its way
    process.off('SIGINT', this.onSigint);
    process.off('SIGTERM', this.onSigterm);
  }

  private handle(signal: StopSignal): void {
    if (this.happened) process.exit(EXIT_INTERRUPTED);
    this.happened = true;
    void (async () => {
      for (const stop of this.stops) {
        try {
          await stop(signal);
        } catch (err) {
          log.warn(`stopping after ${signal} went wrong: ${(err as Error)?.message ?? String(err)}`);
        }
      }
      await this.close().catch((err: unknown) => log.error(`could not close the job database cleanly: ${(err as Error)?.message ?? String(err)}`));
      // Leftover sockets of a stopped upload must not keep the process alive.
      process.exit(this.status);
    })();
  }
}

/** What every command's runtime is opened with: the database of the global options, the scheduler's tunables and CA bundle. */
export async function runtimeOptionsOf(g: GlobalOpts): Promise<RuntimeOptions & { dbPath: string }> {
  // AWS_CA_BUNDLE, or the profile's ca_bundle, as the AWS tools read them.
  const { caBundle } = await resolveAwsSettings({ profile: g.profile ?? null, endpoint: g.endpoint ?? null });
  return { dbPath: dbPathOf(g), engine: { scheduler: { ...schedulerOptionsFromEnv(), caBundle } } };
}

/** What the command line says about an opened runtime: a full disk as it happens, a rebuilt database once. */
export function announce(rt: HoistRuntime): void {
  rt.engine.on('storage', (s) => process.stderr.write(storageLine(s)));
  if (rt.engine.rebuilt) {
    process.stderr.write(`hoist: db.corrupt: ${describeError('db.corrupt')} The damaged file is at ${rt.engine.rebuilt.movedAside}.\n`);
    // The runtime took up the uploads the bucket still holds for watched files before anything sent.
    for (const line of rebuildSummary(rt.engine.rebuilt, rt.adoptions ?? [])) process.stderr.write(`hoist: ${line}\n`);
  }
}

/**
 * Runs `fn` with Ctrl-C and SIGTERM handled (its stop functions, then `close`, then exit) and
 * `close` awaited afterwards, whatever happened. `hoist serve` uses it around its served runtime.
 */
export async function closingAfter<T>(close: () => Promise<void>, fn: (scope: CommandScope) => Promise<T>): Promise<T> {
  let closing: Promise<void> | null = null;
  const closeOnce = () => (closing ??= close());
  const interrupts = new Interrupts(closeOnce);
  let failed = false;
  try {
    return await fn(interrupts);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    interrupts.dispose();
    // What made the command fail is what the user sees, not a close that failed after it.
    await (failed ? closeOnce().catch(() => undefined) : closeOnce());
    // After a signal the interrupt path ends the process; nothing more is said.
    if (interrupts.happened) await new Promise<never>(() => undefined);
  }
}

/**
 * Runs `fn` with an open runtime (not working the queue unless `fn` calls rt.start()) and closes it
 * afterwards (awaited), whatever happened. `runtime` adds to the options (watch, wait, watcher).
 */
export async function withHoist<T>(g: GlobalOpts, fn: (rt: HoistRuntime, scope: CommandScope) => Promise<T>, runtime: Omit<RuntimeOptions, 'dbPath' | 'engine' | 'work'> = {}): Promise<T> {
  const rt = await openRuntime({ ...(await runtimeOptionsOf(g)), ...runtime, work: false });
  return closingAfter(
    () => rt.close(),
    async (scope) => {
      announce(rt);
      return fn(rt, scope);
    },
  );
}
