// Forward-only schema migrations for the job database on PostgreSQL, recorded in schema_version
// (SQLite's are in migrations.ts, recorded in PRAGMA user_version). Never edit a shipped one: add the
// next. The first is SQLite's schema after its 18 migrations (pg-schema.ts).
import type { Db } from './db-types.js';
import { PgDb } from './pg-db.js';
import { PG_SCHEMA_1 } from './pg-schema.js';

export const PG_MIGRATIONS: readonly string[] = [
  /* 1: the schema of SQLite's migrations 1-18 */ PG_SCHEMA_1,
];

/** Any key, the same in every Hoist: processes starting together on one database migrate one after the other. */
const MIGRATION_LOCK = 0x486f697374;

export function migratePg(db: Db): void {
  db.transaction(() => {
    db.prepare('SELECT pg_advisory_xact_lock(?)').get(MIGRATION_LOCK);
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)');
    const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(`This database was written by a newer Hoist (schema ${current}; this one knows ${PG_MIGRATIONS.length}). Update Hoist.`);
    }
    for (let version = current; version < PG_MIGRATIONS.length; version++) {
      db.exec(PG_MIGRATIONS[version]!);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(version + 1);
    }
  })();
}

/** Connects (`store.unreachable` when it cannot) and brings the schema up to date. */
export function openPg(url: string): Db {
  const db = new PgDb(url);
  try {
    migratePg(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
