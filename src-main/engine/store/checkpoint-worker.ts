// The checkpoint thread (checkpointer.ts): its own connection to the job database, copying the WAL
// back into the database file once a second. A passive checkpoint waits for no one and blocks no one.
import { parentPort, workerData } from 'node:worker_threads';
import { requireCjs } from '../cjs.js';
import type { CheckpointMessage } from './checkpointer.js';

// Through require, not import (cjs.ts).
const Database = requireCjs('better-sqlite3') as typeof import('better-sqlite3');

const { file, nativeBinding, intervalMs } = workerData as { file: string; nativeBinding: string | null; intervalMs: number };
const db = new Database(file, { fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
db.pragma('busy_timeout = 1000');
db.pragma('wal_autocheckpoint = 0');

function post(msg: CheckpointMessage): void {
  parentPort!.postMessage(msg);
}

function checkpoint(): void {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    post({ type: 'checkpointed', walPages: r!.log, checkpointedPages: r!.checkpointed });
  } catch (err) {
    // A full disk, for one: the main thread goes on writing to the WAL; the next pass tries again.
    post({ type: 'failed', message: (err as Error).message });
  }
}

const timer = setInterval(checkpoint, intervalMs);
parentPort!.on('message', (msg: unknown) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort!.close();
});
