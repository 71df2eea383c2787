import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Db } from '../../src-main/engine/store/db.js';
import { Checkpointer } from '../../src-main/engine/store/checkpointer.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { Engine } from '../../src-main/engine/engine.js';
import { tempDir } from '../support/s3.js';
import { until } from '../support/engine.js';

const autoCheckpoint = (db: Db) => db.pragma('wal_autocheckpoint', { simple: true });

test('with the checkpoint worker running the main connection never checkpoints; the worker moves the WAL into the database', async () => {
  const file = path.join(tempDir('checkpoint'), 'hoist.db');
  const { db } = openDatabase(file);
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  const checkpointer = new Checkpointer(db, file, { intervalMs: 100 });
  try {
    assert.equal(autoCheckpoint(db), 0, 'commits no longer checkpoint on the main thread');
    const insert = db.prepare('INSERT INTO blobs (body) VALUES (?)');
    // 8 MiB: well past the 1,000 pages (4 MiB) at which a commit would have checkpointed by itself.
    for (let i = 0; i < 64; i++) db.transaction(() => insert.run(Buffer.alloc(128 * 1024, i)))();
    const done = await until('a worker pass that checkpointed the whole WAL', () => {
      const last = checkpointer.status.last;
      return last?.type === 'checkpointed' && last.walPages > 2000 && last.checkpointedPages === last.walPages ? last : undefined;
    });
    assert.ok(done.walPages > 2000, `the WAL held ${done.walPages} pages: nothing on the main thread had checkpointed it`);
  } finally {
    await checkpointer.stop();
  }
  assert.equal(checkpointer.running, false);
  assert.equal(autoCheckpoint(db), 1000, 'once the worker stops, SQLite checkpoints in commits again');
  db.close();
  // Everything is in the database file: read with the WAL gone.
  fs.rmSync(file + '-wal', { force: true });
  const check = new Database(file, { readonly: true });
  assert.equal((check.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n, 64);
  assert.equal((check.prepare('SELECT body FROM blobs WHERE id = 64').get() as { body: Buffer }).body[0], 63);
  check.close();
});

test('a checkpoint worker that cannot open the database fails alone: the main connection checkpoints by itself again', async () => {
  const dir = tempDir('checkpoint-missing');
  const { db } = openDatabase(path.join(dir, 'hoist.db'));
  const checkpointer = new Checkpointer(db, path.join(dir, 'moved-away.db'), { intervalMs: 100 });
  await until('the worker to fail', () => !checkpointer.running);
  assert.equal(checkpointer.status.last?.type, 'failed');
  assert.equal(autoCheckpoint(db), 1000);
  await checkpointer.stop();
  db.close();
});

test('the engine checkpoints on its worker while it works the queue, and not after close', async () => {
  const file = path.join(tempDir('checkpoint-engine'), 'hoist.db');
  const engine = new Engine({ dbPath: file });
  assert.equal(autoCheckpoint(engine.store.db), 1000, 'an engine that only reads (hoist jobs) keeps SQLite\'s own checkpoints');
  assert.ok(engine.start().ok);
  assert.equal(autoCheckpoint(engine.store.db), 0);
  await engine.close();
  const reopened = new Database(file, { readonly: true });
  assert.ok((reopened.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n > 0);
  reopened.close();
});
