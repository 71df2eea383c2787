// test/support/pg.ts against the tier's PostgreSQL server: each freshPgDatabase a new empty database,
// dropped after the test that asked for it; pgDatabaseFor the same database for the same key until the
// process exits; and no URL at all is a failure that says so, never a skip.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { until } from '../support/engine.js';
import { freshPgDatabase, pgDatabaseFor, pgTestUrl, pgUrlWith, psql } from '../support/pg.js';

const exists = (database: string) => psql(`SELECT count(*) FROM pg_database WHERE datname = '${database}'`).trim() === '1';
const nameOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));
const publicTables = (url: string) => Number(psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", url).trim());

let fromFirstTest = '';

test('each call makes a new, empty database of its own, named after the test', () => {
  const a = freshPgDatabase('Queue: claims');
  const b = freshPgDatabase('Queue: claims');
  assert.notEqual(nameOf(a), nameOf(b));
  assert.match(nameOf(a), /^hoist_queue_claims_[0-9a-f]{12}$/);
  assert.ok(exists(nameOf(a)) && exists(nameOf(b)));
  psql('CREATE TABLE t (x int)', a);
  assert.equal(publicTables(a), 1);
  assert.equal(publicTables(b), 0, 'a table made in one is not in the other');
  fromFirstTest = nameOf(a);
});

test('the database is gone once the test that asked for it ends', () => {
  assert.ok(fromFirstTest, 'the first test ran');
  assert.equal(exists(fromFirstTest), false);
});

test('a session left open does not keep the database from being dropped', async (t) => {
  let url = '';
  let session: ChildProcess | undefined;
  t.after(() => session?.kill()); // where the drop did not end it
  await t.test('holds a session and ends', async () => {
    url = freshPgDatabase('left-open');
    session = spawn('psql', ['-X', '-d', url, '-c', 'SELECT pg_sleep(600)'], { stdio: 'ignore' });
    await until('the session to be in', () => psql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${nameOf(url)}'`).trim() === '1');
  });
  assert.equal(exists(nameOf(url)), false);
});

test('pgDatabaseFor: the same key, the same database, empty the first time; another key, another', () => {
  const a = pgDatabaseFor('/tmp/hoist-x/one', 'one');
  psql('CREATE TABLE t (x int)', a);
  assert.equal(pgDatabaseFor('/tmp/hoist-x/one', 'one'), a);
  assert.equal(publicTables(a), 1, 'the second ask is the same database, its table still there');
  assert.notEqual(pgDatabaseFor('/tmp/hoist-x/two', 'one'), a);
});

test('pgDatabaseFor databases are dropped when the process exits', () => {
  const child = `import { pgDatabaseFor } from ${JSON.stringify(new URL('../support/pg.js', import.meta.url).href)};
    process.stdout.write(pgDatabaseFor('${fileURLToPath(import.meta.url)}', 'exits'));`;
  const url = execFileSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
  assert.match(nameOf(url), /^hoist_exits_[0-9a-f]{12}$/);
  assert.equal(exists(nameOf(url)), false);
});

test('no HOIST_TEST_PG_URL is a failure that says how to get one', () => {
  const saved = process.env.HOIST_TEST_PG_URL;
  delete process.env.HOIST_TEST_PG_URL;
  try {
    assert.throws(() => freshPgDatabase(), /HOIST_TEST_PG_URL is not set: this test needs PostgreSQL/);
    assert.throws(() => pgDatabaseFor('k'), /HOIST_TEST_PG_URL is not set/);
  } finally {
    process.env.HOIST_TEST_PG_URL = saved;
  }
  assert.ok(pgTestUrl());
});

test('pgUrlWith keeps the server, user and options and changes only the database', () => {
  assert.equal(
    pgUrlWith('postgres://u:p%40ss@127.0.0.1:5433/postgres?sslmode=disable', 'hoist_x'),
    'postgres://u:p%40ss@127.0.0.1:5433/hoist_x?sslmode=disable',
  );
});
