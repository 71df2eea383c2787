// `hoist watch`: watches the folders of `hoist folders` and uploads what arrives, in the
// foreground, until Ctrl-C (which pauses cleanly) or, with --once, until what it found has settled.
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import { SETTLED_STATES } from '../engine/engine.js';
import type { JobRecord } from '../engine/store/job-store.js';
import type { CleanupRetry } from '../engine/folders/cleanup.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../engine/folders/folder-watcher.js';
import type { HoistRuntime, RuntimeOptions } from '../runtime/runtime.js';
import { parseDuration } from './args.js';
import { EXIT_FAILED, EXIT_INTERRUPTED } from './exit-codes.js';
import { ProgressView, batchLine, jobLine } from './output.js';
import { withHoist, type CommandScope, type Globals } from './with-hoist.js';

interface WatchFlags {
  poll?: boolean;
  pollInterval?: number;
  once?: boolean;
}

/** Back-off of a failed delete or move after delivery, from the environment (tests and impatient people). */
function cleanupRetryFromEnv(env = process.env): Partial<CleanupRetry> {
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    ...(num('HOIST_CLEANUP_RETRY_BASE_MS') !== undefined ? { baseDelayMs: num('HOIST_CLEANUP_RETRY_BASE_MS')! } : {}),
    ...(num('HOIST_CLEANUP_RETRY_MAX_MS') !== undefined ? { maxDelayMs: num('HOIST_CLEANUP_RETRY_MAX_MS')! } : {}),
  };
}

export function registerWatchCommand(program: Command, globals: Globals): void {
  program
    .command('watch')
    .description('watch the folders and upload what arrives, in the foreground; Ctrl-C pauses cleanly')
    .option('--poll', 'scan every folder on a timer instead of waiting for events (network shares that send none)')
    .option('--poll-interval <duration>', `time between scans when polling (default ${DEFAULT_POLL_INTERVAL_MS / 1000}s)`, parseDuration)
    .option('--once', 'scan, upload what is there, wait for it to finish, and exit (0 only if all arrived)')
    .action(async (o: WatchFlags) => {
      process.exitCode = await withHoist(globals(), (rt, scope) => watch(rt, scope, o), watchOptions(o));
    });
}

/**
 * The runtime `hoist watch` opens: the queue's runner and the folder watcher under the runner lease
 * (this process must hold it, so no file is decided twice: it does not wait for another process).
 */
function watchOptions(o: WatchFlags): Pick<RuntimeOptions, 'watch' | 'wait' | 'watcher'> {
  const settle = process.env.HOIST_BATCH_SETTLE_MS ? Number(process.env.HOIST_BATCH_SETTLE_MS) : undefined;
  return {
    watch: true,
    wait: false,
    watcher: {
      ...(o.poll ? { poll: true } : {}),
      ...(o.pollInterval !== undefined ? { pollIntervalMs: o.pollInterval } : {}),
      ...(settle !== undefined ? { batchSettleMs: settle } : {}),
      cleanupRetry: cleanupRetryFromEnv(),
    },
  };
}

/** Jobs not yet settled; while a shared queue's database cannot be reached, unknown (the node waits for it: node-lease.ts). */
function unsettledJobs(rt: HoistRuntime): number {
  try {
    return rt.engine.store.queryJobs({ states: ['queued', 'running', 'completing'], limit: 0 }).total;
  } catch (err) {
    if ((err as { code?: string }).code === 'store.unreachable') return Number.NaN;
    throw err;
  }
}

/** Runs until Ctrl-C (or, with --once, until what was found has settled); returns the exit status. */
async function watch(rt: HoistRuntime, scope: CommandScope, o: WatchFlags): Promise<number> {
  const { engine, folders: watcher } = rt;
  const folderCount = watcher.listFolders().filter((f) => f.enabled).length;
  if (folderCount === 0) throw new HoistError('config.invalid', { message: 'No folder is watched. Add one first: hoist folders add DIR --bucket BUCKET' });
  const view = new ProgressView(process.stderr);
  let problems = 0;
  const mine = new Set<number>();
  const reported = new Map<number, string>();
  // The unsettled jobs this watch made, kept from events: a tree of 100,000 files is not read back every 250 ms.
  const open = new Map<number, JobRecord>();
  const follow = (j: JobRecord) => {
    if (SETTLED_STATES.includes(j.state)) open.delete(j.id);
    else open.set(j.id, j);
  };
  watcher.on('file', (a) => {
    if (a.jobId !== null && !mine.has(a.jobId)) {
      mine.add(a.jobId);
      const job = engine.getJob(a.jobId);
      if (job) follow(job);
    }
    const from = a.fromKey ? ` from ${a.fromKey}` : '';
    if (a.action === 'deleted' || a.action === 'moved') view.say(`${a.action.padEnd(10)} ${a.path} (every destination verified it)`);
    else view.say(`${a.action.padEnd(10)} ${a.path} -> ${a.key}${from}`);
  });
  watcher.on('skipped', (s) => {
    problems++;
    view.say(`skipped    ${s.path}: ${s.reason}: ${s.message}`);
  });
  watcher.on('notice', (n) => view.say(`hoist: ${n.message}`));
  engine.on('job', (j: JobRecord) => {
    if (mine.has(j.id)) follow(j);
    if (!SETTLED_STATES.includes(j.state) || reported.get(j.id) === j.state) return;
    reported.set(j.id, j.state);
    view.say(jobLine(j));
  });
  let batchesFailed = 0;
  engine.on('batch', (b) => {
    if (b.state !== 'written' && b.state !== 'failed') return;
    if (b.state === 'failed') batchesFailed++;
    view.say(batchLine(b));
  });

  // The runner and the watcher (the runtime starts it under the lease), listeners on first.
  const started = await rt.start();
  if (!started.ok) {
    await rt.close();
    throw new HoistError('config.invalid', { message: `Hoist pid ${started.pid} on ${started.host} already works this queue; only that process watches the folders. Stop it first, or leave the watching to it.` });
  }
  // The watcher stops before the engine closes (the runtime's order), at the end or at Ctrl-C.
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      view.end();
      await rt.close();
    })());
  scope.onInterrupt((signal) => {
    view.say(`hoist: ${signal}: pausing cleanly; \`hoist watch\` resumes where this stopped.`);
    return stop();
  });

  view.say(`watching ${folderCount} folder(s)${o.once ? '' : '; Ctrl-C pauses cleanly'}`);
  for (;;) {
    if (stopping) return EXIT_INTERRUPTED; // Ctrl-C: the interrupt ends the process once the runtime is closed
    if (open.size > 0) view.update([...open.values()], engine.progress());
    const unsettled = unsettledJobs(rt);
    if (o.once && watcher.idle && unsettled === 0) {
      // What arrived is one batch per root: its generation is written before --once exits.
      watcher.sealQuietBatches(true);
      await engine.waitForBatches(engine.listBatches({ states: ['sealed'] }).map((b) => b.id));
      const failed = [...mine].filter((id) => engine.getJob(id)?.state !== 'done').length;
      await stop();
      return failed + problems + batchesFailed === 0 ? 0 : EXIT_FAILED;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
