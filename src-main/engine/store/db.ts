// Opens the job database: a SQLite file (sqlite-db.ts) or a PostgreSQL URL (pg-db.ts); the `Db` both
// give, the subset of better-sqlite3's API the store uses, is in db-types.ts.
import { isDatabaseUrl } from '../app-data.js';
import { openPg } from './pg-migrations.js';
import { openSqlite } from './sqlite-db.js';

export type { DatabaseOptions, Db, Dialect, OpenedDb, RunResult, Statement } from './db-types.js';
import type { DatabaseOptions, OpenedDb } from './db-types.js';

/**
 * Opens (creating if needed) and migrates the job database: a SQLite file (a damaged one is moved
 * aside, never deleted, and a new one created; the caller reports `movedAside`) or a PostgreSQL URL
 * (credentials from the URL, PGPASSWORD or ~/.pgpass; an unreachable server throws `store.unreachable`).
 */
export function openDatabase(target: string, opts: DatabaseOptions = {}): OpenedDb {
  return isDatabaseUrl(target) ? { db: openPg(target) } : openSqlite(target, opts);
}
