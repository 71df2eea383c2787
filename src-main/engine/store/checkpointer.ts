// Moves the job database's WAL checkpoints off the main thread. SQLite checkpoints inside the commit
// that fills the WAL, and that checkpoint's fsync held the event loop (the UI's bridge, the
// scheduler) for up to a second on this VM's disk while a watched tree's files were queued. With the
// worker running, the main connection never checkpoints; without it, SQLite does again.
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';

const CHECKPOINT_INTERVAL_MS = 1000;
/** SQLite's default (pages in the WAL before a commit checkpoints), restored whenever the worker is gone. */
const AUTO_CHECKPOINT_PAGES = 1000;
const STOP_TIMEOUT_MS = 5000;

export type CheckpointMessage =
  | { type: 'checkpointed'; walPages: number; checkpointedPages: number }
  | { type: 'failed'; message: string };

export class Checkpointer {
  private worker: Worker | null;
  private lastResult: CheckpointMessage | null = null;
  private passes = 0;

  constructor(
    private readonly db: Db,
    file: string,
    opts: { nativeBinding?: string; intervalMs?: number } = {},
  ) {
    const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: { file, nativeBinding: opts.nativeBinding ?? null, intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS },
    });
    this.worker = worker;
    db.pragma('wal_autocheckpoint = 0');
    worker.on('message', (msg: CheckpointMessage) => {
      this.lastResult = msg;
      this.passes++;
    });
    worker.on('error', (err) => {
      this.lastResult = { type: 'failed', message: err.message };
      this.fallBack(worker);
    });
    worker.on('exit', () => this.fallBack(worker));
  }

  /** Whether checkpoints run on the worker (false once it failed or stopped: the main connection does them). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Passes the worker has reported, and what the last one (or the worker's failure) said. */
  get status(): { passes: number; last: CheckpointMessage | null } {
    return { passes: this.passes, last: this.lastResult };
  }

  private fallBack(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = null;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  }

  /** A last checkpoint on the worker, then the main connection checkpoints by itself again. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    this.fallBack(worker);
  }
}
