// A throwaway PostgreSQL database per test on the test server (HOIST_TEST_PG_URL, default the loopback
// one the pg-server script starts). Until test/support/pg.ts (branch pgserver) lands: one function to swap.
// Synchronous, through the store's own bridge, so testEngine stays synchronous.
import crypto from 'node:crypto';
import { PgDb } from '../../src-main/engine/store/pg-db.js';

export const PG_TEST_URL = process.env.HOIST_TEST_PG_URL ?? 'postgres://hoist@127.0.0.1:55431/postgres';

function urlOf(name: string): string {
  const u = new URL(PG_TEST_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The URL of database `hoist_<label>_<hash of key>`, created empty the first time it is asked for (the same key gives the same database). */
export function pgDatabaseFor(key: string, label = 't'): string {
  const name = `hoist_${label.replace(/\W/g, '_').slice(0, 20)}_${crypto.createHash('sha256').update(key).digest('hex').slice(0, 12)}`.toLowerCase();
  const admin = new PgDb(PG_TEST_URL);
  try {
    const exists = admin.prepare('SELECT 1 FROM pg_database WHERE datname = ?').get(name);
    if (!exists) admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    admin.close();
  }
  return urlOf(name);
}

/** A new empty database for one test. */
export function freshPgDatabase(label: string): string {
  return pgDatabaseFor(crypto.randomUUID(), label);
}
