// Where Hoist's log file lives: `hoist.log` beside the job database (the application-data folder,
// or the folder of --db / HOIST_DB), so the desktop app, `hoist serve` and every `hoist` command
// write to, and `hoist logs` points at, the same file. Imports nothing from the engine.
import path from 'node:path';

export const LOG_FILE_NAME = 'hoist.log';

/** The log file that goes with this job database. */
export function logFileFor(dbPath: string): string {
  return path.join(path.dirname(path.resolve(dbPath)), LOG_FILE_NAME);
}
