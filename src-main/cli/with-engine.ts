// How every `hoist` command gets its engine: `withEngine(globals, fn)` opens it, hands it to the
// command, and closes it (awaited) on every path: success, failure, Ctrl-C and SIGTERM.
// It is the one place the command line makes an Engine, so the process-wide runtime (issue 11)
// replaces it here alone.
import { describeError } from '../../shared/errors.js';
import { Engine, defaultDbPath } from '../engine/engine.js';
import { rebuildSummary } from '../engine/rebuild-summary.js';
import { resolveAwsSettings } from '../engine/s3/connection.js';
import type { SchedulerOptions, StorageNotice } from '../engine/scheduler/scheduler.js';
import { logger } from '../engine/log.js';
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
   * started; then the engine closes and the process exits with `status` (130, unless the signal is
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
 * Ctrl-C and SIGTERM while a command has its engine open: the command's stop functions run, the
 * engine closes, and the process exits; a second signal exits at once.
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

/** Runs `fn` with an open engine and closes the engine afterwards (awaited), whatever happened. */
export async function withEngine<T>(g: GlobalOpts, fn: (engine: Engine, scope: CommandScope) => Promise<T>): Promise<T> {
  // AWS_CA_BUNDLE, or the profile's ca_bundle, as the AWS tools read them.
  const { caBundle } = await resolveAwsSettings({ profile: g.profile ?? null, endpoint: g.endpoint ?? null });
  const engine = new Engine({ dbPath: dbPathOf(g), scheduler: { ...schedulerOptionsFromEnv(), caBundle } });
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= engine.close());
  const interrupts = new Interrupts(close);
  let failed = false;
  try {
    engine.on('storage', (s) => process.stderr.write(storageLine(s)));
    if (engine.rebuilt) {
      process.stderr.write(`hoist: db.corrupt: ${describeError('db.corrupt')} The damaged file is at ${engine.rebuilt.movedAside}.\n`);
      // Before anything sends: an upload the bucket still holds for a watched file is taken up, not begun again.
      const adoptions = await engine.adoptAfterRebuild();
      for (const line of rebuildSummary(engine.rebuilt, adoptions)) process.stderr.write(`hoist: ${line}\n`);
    }
    return await fn(engine, interrupts);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    interrupts.dispose();
    // What made the command fail is what the user sees, not a close that failed after it.
    await (failed ? close().catch(() => undefined) : close());
    // After a signal the interrupt path ends the process; nothing more is said.
    if (interrupts.happened) await new Promise<never>(() => undefined);
  }
}
