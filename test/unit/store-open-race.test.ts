// Two processes opening a new job database at once (the app and a `hoist jobs`, a watcher and the
// `hoist batches list` a script polls with): each must find the schema whole, neither may fail. Here
// one connection holds the write lock on a new file while another process's open (a worker thread,
// its own connection) gets as far as it can; then the first writes the whole schema and lets go.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src-main/engine/store/migrations.js';
import { tempDir } from '../support/s3.js';

const SQLITE_DB = new URL('../../src-main/engine/store/sqlite-db.js', import.meta.url).href;

/** Opens `file` as Hoist does, in a thread of its own; resolves with 'ok' or the error's message. */
function openElsewhere(file: string): Promise<string> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ openSqlite }) => {
      try { openSqlite(workerData.file).db.close(); parentPort.postMessage('ok'); }
      catch (err) { parentPort.postMessage(String(err && err.message)); }
    });`;
  const worker = new Worker(code, { eval: true, workerData: { module: SQLITE_DB, file } });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: string) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

test('a new database opened by two processes at once: the second waits for the first to write the schema and finds it done', async () => {
  const file = path.join(tempDir('store-open-race'), 'hoist.db');
  const first = new Database(file);
  first.pragma('journal_mode = WAL');
  first.exec('BEGIN IMMEDIATE');
  const second = openElsewhere(file);
  // Long enough for the other open to read the schema version (0) and reach the lock.
  await new Promise((r) => setTimeout(r, 700));
  for (const m of MIGRATIONS) first.exec(m);
  first.pragma(`user_version = ${MIGRATIONS.length}`);
  first.exec('COMMIT');
  assert.equal(await second, 'ok', 'the second open found the schema the first wrote');
  assert.equal(first.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal((first.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'jobs'").get() as { n: number }).n, 1);
  first.close();
});
