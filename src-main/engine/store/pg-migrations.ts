// Forward-only schema migrations for the job database on PostgreSQL, recorded in schema_version
// (SQLite's are in migrations.ts, recorded in PRAGMA user_version). Never edit a shipped one: add the
// next. The first is SQLite's schema after its 18 migrations (pg-schema.ts).
import type { Db } from './db-types.js';
import { PgDb } from './pg-db.js';
import { PG_SCHEMA_1 } from './pg-schema.js';

export const PG_MIGRATIONS: readonly string[] = [
  /* 1: the schema of SQLite's migrations 1-18 */ PG_SCHEMA_1,
  /* 2: SQLite's 19, the shared queue (issue 15): nodes, and each job's lease */ `
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    state TEXT NOT NULL
  );
  ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
  ALTER TABLE jobs ADD COLUMN lease_until BIGINT;
  CREATE INDEX jobs_by_lease ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
  `,
  /* 3: the webhook outbox's cursor row, which SQLite's migrations insert with its table and the first one here forgot */ `
  INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM job_events ON CONFLICT (id) DO NOTHING;
  `,
  /* 4: a bandwidth limit is the cluster's (SQLite's 20): each node's demands on the limits in force, published once a second */ `
  ALTER TABLE nodes ADD COLUMN demands TEXT;
  ALTER TABLE nodes ADD COLUMN demands_at BIGINT;
  `,
  /* 5: SQLite's 21, folders pinned to the machines that see them (issue 15) */ `
  CREATE TABLE folder_paths (
    folder_id BIGINT NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
    machine TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (folder_id, machine)
  );
  ALTER TABLE jobs ADD COLUMN folder_id BIGINT;
  ALTER TABLE jobs ADD COLUMN folder_rel_path TEXT;
  ALTER TABLE jobs ADD COLUMN machine TEXT;
  `,

  /* 6: SQLite's 22, fewer indexes a state change writes: here an UPDATE of an indexed column (state) is
        never HOT, so it adds an entry to every index of jobs; these two are prefixes of others */ `
  DROP INDEX jobs_by_state_only;
  DROP INDEX jobs_by_state_size;
  `,
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
