// Where Hoist's log file lives: `hoist.log` beside the job database (the application-data folder,
// or the folder of --db / HOIST_DB), so the desktop app, `hoist serve` and every `hoist` command
// write to, and `hoist logs` points at, the same file. The one path function: the runtime's sink
// (runtime/log-file.ts) and the CLI both call it. Imports nothing from the engine but app-data.
import path from 'node:path';
import { defaultDbPath, localDbFile } from './app-data.js';

export const LOG_FILE_NAME = 'hoist.log';

/** The log file beside a database (default: the shared one, so ~/.config/Hoist/hoist.log on Linux). A database in memory or on a PostgreSQL server logs to the application-data folder's. */
export function logFilePath(dbPath: string = defaultDbPath()): string {
  const db = path.resolve(localDbFile(dbPath));
  return path.join(path.dirname(db), LOG_FILE_NAME);
}
