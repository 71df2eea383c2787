// What `hoist` starts before it loads the engine (bin/hoist.js imports this first, then main.js):
// for `hoist upload`, the first part-worker thread, whose own load then runs beside the main thread's
// (engine/upload/part-thread.ts). Kept to a few small modules: it is on every command's path.
import { prestartPartThread } from '../engine/upload/part-thread.js';

/** The global options (main.ts) that take a value: what follows them is not the subcommand. */
export const GLOBAL_OPTIONS_WITH_VALUES = ['--db', '--endpoint', '--region', '--profile'];

/** The subcommand the command line names: the first word past the global options and their values. */
export function subcommandOf(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (GLOBAL_OPTIONS_WITH_VALUES.includes(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** Starts what the command will need and can load meanwhile; true if a thread was started. */
export function startEarly(argv: readonly string[] = process.argv): boolean {
  // `hoist run` may find the queue empty; `hoist upload` was given files (a thread idle for nothing
  // when all of them are skipped: its load, 0.2-0.4 CPU s, is the price).
  if (subcommandOf(argv) !== 'upload' || argv.includes('--help') || argv.includes('-h')) return false;
  prestartPartThread();
  return true;
}
