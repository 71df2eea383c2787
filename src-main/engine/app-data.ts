// Where Hoist keeps its files on this computer: the database, its recovery file and the log, in the
// user's application-data folder (the same one the desktop app and the `hoist` command use).
import os from 'node:os';
import path from 'node:path';

/** The application-data folder: ~/.config/Hoist on Linux, ~/Library/Application Support/Hoist on macOS, %APPDATA%\Hoist on Windows. */
export function appDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = os.homedir();
  const base =
    process.platform === 'darwin'
      ? path.join(home, 'Library', 'Application Support')
      : process.platform === 'win32'
        ? (env.APPDATA ?? path.join(home, 'AppData', 'Roaming'))
        : (env.XDG_CONFIG_HOME ?? path.join(home, '.config'));
  return path.join(base, 'Hoist');
}

/** The database every process shares unless told otherwise (HOIST_DB, or the CLI's --db). */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOIST_DB) return env.HOIST_DB;
  return path.join(appDataDir(env), 'hoist.db');
}

/** A `postgres://` or `postgresql://` URL: the job database is on a PostgreSQL server, not in a file here. */
export function isDatabaseUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * The file the machine-local companions of a database are named after (its log and webhook key
 * beside it): the SQLite file itself; for a database in memory or on a server, the application-data
 * folder's hoist.db.
 */
export function localDbFile(dbPath: string, env: NodeJS.ProcessEnv = process.env): string {
  if (dbPath !== ':memory:' && !isDatabaseUrl(dbPath)) return dbPath;
  const shared = defaultDbPath(env);
  return shared === ':memory:' || isDatabaseUrl(shared) ? path.join(appDataDir(env), 'hoist.db') : shared;
}
