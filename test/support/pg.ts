// A new, empty PostgreSQL database per test, on the server the test tier runs with: scripts/with-pg.sh
// starts one (scripts/pg-server.sh) and puts its URL in HOIST_TEST_PG_URL, or keeps the one already set.
// A test that needs PostgreSQL and finds no URL fails, saying how to get one; it never skips.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';

/** The server's URL (a superuser's, on its maintenance database); throws where the tier has none. */
export function pgTestUrl(): string {
  const url = process.env.HOIST_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'HOIST_TEST_PG_URL is not set: this test needs PostgreSQL. Run it through scripts/run-tests.sh (its server tier ' +
        'starts one), or `bash scripts/with-pg.sh node --test FILE`, or set it to a server you run (bash scripts/pg-server.sh start prints one)',
    );
  }
  return url;
}

/** The URL of `base`'s server with `database` as its path. */
export function pgUrlWith(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Creates a database no other test has (`hoist_NAME_RANDOM`, within PostgreSQL's 63 bytes) and returns its URL.
 * It is dropped after the test (or the file, when called at its top) that asked for it, connections and all.
 */
export async function freshPgDatabase(name = 'test'): Promise<string> {
  const base = pgTestUrl();
  const label = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 40);
  const database = `hoist_${label}_${randomBytes(6).toString('hex')}`;
  await onServer(base, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(database)}`));
  after(async () => {
    // FORCE ends the sessions a test left open (an engine not closed after a failure, say).
    await onServer(base, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(database)} WITH (FORCE)`));
  });
  return pgUrlWith(base, database);
}

async function onServer<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
