// test/support/pg.ts against the tier's PostgreSQL server: each call a new empty database, dropped
// after the test that asked for it, and no URL at all is a failure that says so, never a skip.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import pg from 'pg';
import { freshPgDatabase, pgTestUrl, pgUrlWith } from '../support/pg.js';

async function query(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}
const exists = async (database: string) =>
  (await query(pgTestUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [database])).length === 1;
const nameOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

let fromFirstTest = '';

test('each call makes a new, empty database of its own, named after the test', async () => {
  const a = await freshPgDatabase('Queue: claims');
  const b = await freshPgDatabase('Queue: claims');
  assert.notEqual(nameOf(a), nameOf(b));
  assert.match(nameOf(a), /^hoist_queue_claims_[0-9a-f]{12}$/);
  assert.ok(await exists(nameOf(a)));
  assert.ok(await exists(nameOf(b)));
  await query(a, 'CREATE TABLE t (x int)');
  const tables = await query(b, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
  assert.equal(tables[0]!.n, 0, 'a table made in one is not in the other');
  fromFirstTest = nameOf(a);
});

test('the database is gone once the test that asked for it ends', async () => {
  assert.ok(fromFirstTest, 'the first test ran');
  assert.equal(await exists(fromFirstTest), false);
});

test('a session left open does not keep the database from being dropped', async (t) => {
  let url = '';
  await t.test('holds a session and ends', async () => {
    url = await freshPgDatabase('left-open');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    client.on('error', () => {}); // the drop ends it from the server's side
    (client.connection.stream as Socket).unref(); // where it does not, this file still ends (and fails)
  });
  assert.equal(await exists(nameOf(url)), false);
});

test('no HOIST_TEST_PG_URL is a failure that says how to get one', async () => {
  const saved = process.env.HOIST_TEST_PG_URL;
  delete process.env.HOIST_TEST_PG_URL;
  try {
    await assert.rejects(freshPgDatabase(), /HOIST_TEST_PG_URL is not set: this test needs PostgreSQL/);
  } finally {
    process.env.HOIST_TEST_PG_URL = saved;
  }
});

test('pgUrlWith keeps the server, user and options and changes only the database', () => {
  assert.equal(
    pgUrlWith('postgres://u:p%40ss@127.0.0.1:5433/postgres?sslmode=disable', 'hoist_x'),
    'postgres://u:p%40ss@127.0.0.1:5433/hoist_x?sslmode=disable',
  );
});
