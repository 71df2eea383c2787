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

test("a nested step's RELEASE rides with the next statement, and none goes before the COMMIT", (t) => {
  const db = scratch();
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
  const before = db.roundTrips;
  db.transaction(() => {
    insert.run(1, 'a');
    db.transaction(() => insert.run(2, 'b'))();
    insert.run(3, 'c');
    db.transaction(() => db.transaction(() => insert.run(4, 'd'))())();
  })();
  assert.equal(db.roundTrips - before, 5, 'four statements and the COMMIT');
  assert.deepEqual(ids(db), [1, 2, 3, 4]);
});

test('with RELEASEs held back, a failing nested step still rolls back itself alone and a failing transaction all of it', (t) => {
  const db = scratch();
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
  db.transaction(() => {
    insert.run(10, 'kept');
    // A step that throws after a step inside it ended (its RELEASE held): both are undone.
    assert.throws(() => db.transaction(() => {
      insert.run(11, 'undone');
      db.transaction(() => insert.run(12, 'undone too'))();
      throw new Error('the outer step fails');
    })());
    // A step whose statement fails right after a sibling's held RELEASE: the sibling's row stays.
    db.transaction(() => insert.run(13, 'kept'))();
    assert.throws(() => db.transaction(() => {
      insert.run(14, 'undone');
      insert.run(13, 'dup');
    })(), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    // A step that swallows its failed statement still fails (the server aborted the transaction), alone.
    assert.throws(() => db.transaction(() => {
      try {
        insert.run(10, 'dup');
      } catch {
        // swallowed
      }
    })());
    insert.run(15, 'kept');
  })();
  assert.deepEqual(ids(db), [10, 13, 15]);
  // The whole transaction fails after its steps ended (their RELEASEs held or sent): none of it stays.
  assert.throws(() => db.transaction(() => {
    db.transaction(() => insert.run(20, 'undone'))();
    db.transaction(() => insert.run(21, 'undone'))();
    throw new Error('the transaction fails');
  })());
  assert.throws(() => db.transaction(() => {
    db.transaction(() => insert.run(22, 'undone'))();
    insert.run(10, 'dup');
  })(), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  assert.deepEqual(ids(db), [10, 13, 15]);
  assert.equal(db.inTransaction, false);
  db.transaction(() => insert.run(23, 'after'))();
  assert.deepEqual(ids(db), [10, 13, 15, 23]);
});
