// The PostgreSQL store's transactions cost one bridge round trip less: BEGIN (and a savepoint) goes
// with the transaction's first statement, and a transaction that runs no statement sends nothing
// (pg-db.ts). What a transaction does is unchanged: rolled back when it throws, savepoints undone alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../../src-main/engine/store/db.js';
import type { PgDb } from '../../src-main/engine/store/pg-db.js';
import { freshPgDatabase } from '../support/pg.js';

function scratch(): PgDb {
  const db = openDatabase(freshPgDatabase('round_trips')).db as PgDb;
  db.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)');
  return db;
}

const ids = (db: PgDb) => db.prepare('SELECT id FROM t ORDER BY id').pluck().all();

test('a transaction of two statements is three round trips (BEGIN rides with the first); one that runs none is none', (t) => {
  const db = scratch();
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
  let before = db.roundTrips;
  db.transaction(() => {
    insert.run(1, 'a');
    insert.run(2, 'b');
  })();
  assert.equal(db.roundTrips - before, 3, 'two statements and the COMMIT');
  before = db.roundTrips;
  db.transaction(() => undefined)();
  db.transaction(() => db.transaction(() => undefined)())();
  assert.equal(db.roundTrips - before, 0, 'nothing sent for transactions that ran nothing');
  assert.deepEqual(ids(db), [1, 2]);
});

test('held-back BEGIN and savepoints: a throw rolls back what ran, a savepoint alone, and the session goes on', (t) => {
  const db = scratch();
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
  // The first statement fails: its transaction (begun with it) is rolled back, the next one works.
  insert.run(1, 'a');
  assert.throws(() => db.transaction(() => insert.run(1, 'again'))(), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  db.transaction(() => insert.run(2, 'b'))();
  // A nested transaction that throws before running anything, and one that throws after: the outer one keeps its own rows.
  db.transaction(() => {
    insert.run(3, 'c');
    assert.throws(() => db.transaction(() => {
      throw new Error('before any statement');
    })());
    assert.throws(() => db.transaction(() => {
      insert.run(4, 'd');
      throw new Error('after one');
    })());
    insert.run(5, 'e');
  })();
  // A savepoint held back when the outer transaction's first statement runs inside it: both go together.
  db.transaction(() => {
    db.transaction(() => insert.run(6, 'f'))();
    assert.throws(() => db.transaction(() => insert.run(6, 'dup'))(), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  })();
  assert.throws(() => db.transaction(() => {
    insert.run(7, 'g');
    throw new Error('whole transaction');
  })());
  assert.deepEqual(ids(db), [1, 2, 3, 5, 6]);
  assert.equal(db.inTransaction, false);
});
