// A child process that watches a folder (its engine not started: nothing is sent) and kills itself
// with SIGKILL while it records the KILL_AT-th file's folder record: a crash with no clean-up in the
// middle of queuing, inside the transaction that records it.
// Usage: node crash-mid-batch.js DIR ENDPOINT BUCKET WATCHED KILL_AT DB (the parent's testDbPath(DIR):
// a PostgreSQL database is made by the process that first asks for it, and must outlive this one).
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { testEngine } from './engine.js';

const [dir, endpoint, bucket, watched, killAt, dbPath] = process.argv.slice(2) as [string, string, string, string, string, string];
const { engine, dest } = testEngine(dir, { endpoint, bucket }, {}, { dbPath });
const folders = engine.folders;
const record = folders.recordFile.bind(folders);
const claim = folders.claimFile.bind(folders);
let recorded = 0;
const maybeDie = () => void (++recorded === Number(killAt) && process.kill(process.pid, 'SIGKILL'));
folders.recordFile = (r) => {
  maybeDie();
  return record(r);
};
// A shared queue (PostgreSQL) claims each file's record with its job, one transaction per file (folders/ingest.ts).
folders.claimFile = (...args) => {
  maybeDie();
  return claim(...args);
};
const watcher = new FolderWatcher(engine);
await watcher.addFolder({ path: watched, destinationId: dest.id, stableMs: 300, prefix: 'crash' });
await watcher.start();
