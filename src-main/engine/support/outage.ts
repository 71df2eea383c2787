// A job database that cannot be reached (issue 15, docs/architecture.md "The cluster"): a node stops
// its work after half a lease, and its host says so once, and once that it works again (runtime.ts,
// cli/watch.ts). Every other failure the outage causes on the way (the owed work's passes, timers,
// the heartbeat, the watcher's stop, the bandwidth demands) is logged at info: in the log file, not
// on stderr at each turn. Any other failure keeps its level.
import type { LogFields, Logger } from '../log.js';

/** Whether `err` is the job database that cannot be reached (store/pg-errors.ts `store.unreachable`). */
export function unreachable(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 'store.unreachable';
}

/** Logs a failure at `level`, or at info when it is the database that cannot be reached (the outage is said elsewhere). */
export function logFailure(log: Logger, level: 'warn' | 'error', msg: string, err: unknown, fields?: LogFields): void {
  if (unreachable(err)) log.info(msg, fields);
  else log[level](msg, fields);
}
