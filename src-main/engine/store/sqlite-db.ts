import type BetterSqlite3 from 'better-sqlite3';
import { requireCjs } from '../cjs.js';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations.js';
import type { DatabaseOptions, Db, OpenedDb } from './db-types.js';

// Through require, not import (cjs.ts).
const Database = requireCjs('better-sqlite3') as typeof BetterSqlite3;

type SqliteDb = BetterSqlite3.Database;

const DAMAGED_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB']);

/**
 * Up to this size every page is checked at open (PRAGMA quick_check: milliseconds for the few MiB a
 * queue of thousands of jobs takes, about half a second at 130 MB); above it only the schema is
 * read, and damage deeper in is met when a query reaches it.
 */
const FULL_CHECK_MAX_BYTES = 64 * 1024 * 1024;

function isDamaged(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && DAMAGED_CODES.has(code);
}

function configure(db: SqliteDb): void {
  // WAL: readers never block the writer, and a crash mid-write loses at most the open transaction.
  // The wait for another process's lock first: two processes opening a new file at once both switch it to WAL.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
}

export function migrate(db: SqliteDb): void {
  // Each step reads the version and applies the next migration under one write lock (BEGIN
  // IMMEDIATE): two processes opening a new or older database at once (the app and a `hoist jobs`,
  // two watchers) take turns, and the second finds the work done. Read outside the lock, both saw
  // version 0 and the second failed on "table already exists" (test/unit/store-open-race.test.ts).
  const step = db.transaction((): number => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`This database was written by a newer Hoist (schema ${version}; this one knows ${MIGRATIONS.length}). Update Hoist.`);
    }
    if (version === MIGRATIONS.length) return version;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return -1;
  });
  let migrated = false;
  while (step.immediate() < 0) migrated = true;
  // A migration writes every page it touches into the WAL, and the file keeps that size for the life
  // of the process (a reset reuses it from the start): a fresh database's schema or migration 9's
  // copy of every owed row. Truncated here, the WAL holds only what the queue writes.
  if (migrated) db.pragma('wal_checkpoint(TRUNCATE)');
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Compiles each SQL text once: the stores prepare statements where they use them, and with 100,000
 * jobs that compiling was a twentieth of the main thread. Statements here are never put in raw,
 * pluck or expand mode, so sharing one between callers is safe. Bounded, oldest out first.
 */
function cacheStatements(db: SqliteDb): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, BetterSqlite3.Statement>();
  db.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (statement) return statement;
    statement = compile(source);
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(source, statement);
    return statement;
  }) as SqliteDb['prepare'];
}

function openAndMigrate(file: string, opts: DatabaseOptions): Db {
  const db = new Database(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {});
  try {
    configure(db);
    // A cheap structural check: reading the schema fails on a file that is not a database.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (file !== ':memory:' && fs.statSync(file).size <= FULL_CHECK_MAX_BYTES) {
      const verdict = db.pragma('quick_check(1)', { simple: true });
      if (verdict !== 'ok') throw Object.assign(new Error(`the database is damaged: ${String(verdict)}`), { code: 'SQLITE_CORRUPT' });
    }
    migrate(db);
    cacheStatements(db);
    // better-sqlite3's Database is the store's `Db` as it is (db.ts names the subset the store uses).
    return Object.assign(db, { dialect: 'sqlite' as const }) as unknown as Db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens (creating if needed) the job database. A damaged file is moved aside, never deleted,
 * and a new one is created; the caller reports `movedAside` to the user.
 */
export function openSqlite(file: string, opts: DatabaseOptions = {}): OpenedDb {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    return { db: openAndMigrate(file, opts) };
  } catch (err) {
    if (!isDamaged(err) || file === ':memory:') throw err;
    const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(file, aside);
    for (const suffix of ['-wal', '-shm']) {
      if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
    }
    return { db: openAndMigrate(file, opts), movedAside: aside };
  }
}
