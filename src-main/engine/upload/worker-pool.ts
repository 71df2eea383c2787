import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { HoistError } from '../../../shared/errors.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import { DEFAULT_HELD_PART_BYTES } from './held-part.js';
import type { HashCheckpoint, TaskSuccess, WorkerReply, WorkerTask } from './tasks.js';

/** What each thread is started with. */
export interface PartWorkerData {
  heldPartBytes: number;
}

/** A task before the pool numbers it (Omit distributed over the union). */
export type NewTask = WorkerTask extends infer T ? (T extends WorkerTask ? Omit<T, 'taskId'> : never) : never;

export type TaskOutcome =
  | { ok: true; result: TaskSuccess }
  | { ok: false; error: ErrorInfo; aborted: boolean; bytesSent: number; clockOffsetMs?: number };

interface Pending {
  worker: PoolWorker;
  resolve: (o: TaskOutcome) => void;
  onProgress?: (bytesSent: number) => void;
  onCheckpoint?: (checkpoint: HashCheckpoint) => void;
}

interface PoolWorker {
  thread: Worker;
  busy: number;
}

/**
 * Distributes tasks over a few worker threads, each running several at once (their I/O is async): a new
 * thread starts only while every thread is busy and fewer than `maxWorkers` run, so memory follows the
 * thread count, not the parts in flight. Each thread hashes with one core.
 */
export class WorkerPool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextTaskId = 1;
  private closed = false;

  constructor(
    private maxWorkers: number,
    private readonly script = new URL('./part-worker.js', import.meta.url),
    /** Bytes of parts held in memory between their checksum and their send, over all threads (0: every part read twice). */
    private readonly heldPartBudget = DEFAULT_HELD_PART_BYTES,
  ) {}

  setMaxWorkers(n: number): void {
    this.maxWorkers = Math.max(1, n);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Runs a task on an idle thread (starting one if allowed); resolves, never rejects. */
  run(task: NewTask, onProgress?: (bytesSent: number) => void, onCheckpoint?: (checkpoint: HashCheckpoint) => void): { taskId: number; outcome: Promise<TaskOutcome> } {
    if (this.closed) throw new Error('worker pool is closed');
    const taskId = this.nextTaskId++;
    const worker = this.pickWorker();
    worker.busy++;
    const outcome = new Promise<TaskOutcome>((resolve) => {
      this.pending.set(taskId, { worker, resolve, ...(onProgress ? { onProgress } : {}), ...(onCheckpoint ? { onCheckpoint } : {}) });
    });
    worker.thread.postMessage({ type: 'run', task: { ...task, taskId } as WorkerTask });
    return { taskId, outcome };
  }

  abort(taskId: number): void {
    const p = this.pending.get(taskId);
    p?.worker.thread.postMessage({ type: 'abort', taskId });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const taskId of this.pending.keys()) this.abort(taskId);
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
    this.workers.length = 0;
  }

  private pickWorker(): PoolWorker {
    const idle = this.workers.find((w) => w.busy === 0);
    if (idle) return idle;
    if (this.workers.length < this.maxWorkers) return this.spawn();
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private spawn(): PoolWorker {
    // Each thread holds its share of the parts' memory (held-part.ts), so the process's stays bounded however many threads run.
    const workerData: PartWorkerData = { heldPartBytes: Math.floor(this.heldPartBudget / this.maxWorkers) };
    const thread = new Worker(this.script, { workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    const w: PoolWorker = { thread, busy: 0 };
    thread.on('message', (msg: WorkerReply) => this.onMessage(msg));
    thread.on('error', (err) => this.onWorkerDeath(w, err));
    thread.on('exit', (code) => {
      if (!this.closed) this.onWorkerDeath(w, new Error(`worker exited with code ${code}`));
    });
    this.workers.push(w);
    return w;
  }

  private onMessage(msg: WorkerReply): void {
    const p = this.pending.get(msg.taskId);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg.bytesSent);
      return;
    }
    if (msg.type === 'checkpoint') {
      p.onCheckpoint?.(msg.checkpoint);
      return;
    }
    this.pending.delete(msg.taskId);
    p.worker.busy--;
    p.resolve(
      msg.type === 'done'
        ? { ok: true, result: msg.result }
        : { ok: false, error: msg.error, aborted: msg.aborted, bytesSent: msg.bytesSent, ...(msg.clockOffsetMs !== undefined ? { clockOffsetMs: msg.clockOffsetMs } : {}) },
    );
  }

  private onWorkerDeath(w: PoolWorker, err: Error): void {
    const i = this.workers.indexOf(w);
    if (i < 0) return;
    this.workers.splice(i, 1);
    for (const [taskId, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(taskId);
      const info = new HoistError('internal.unexpected', { detail: `part worker died: ${err.message}` }).info;
      p.resolve({ ok: false, error: info, aborted: false, bytesSent: 0 });
    }
  }
}

/**
 * A part worker allocates little (its buffers are pooled), but V8 lets each isolate's young generation
 * grow to 32 MiB over a long upload: capped, peak RSS stays flat from a 1 GiB to a 16 GiB file
 * (+14% uncapped) at no measurable CPU cost (docs/performance.md).
 */
const WORKER_YOUNG_GENERATION_MB = 2;

/** One thread per core (at least 2, at most 8): hashing is what needs them; more threads only cost memory. */
export const defaultPoolSize = (): number => Math.min(8, Math.max(2, os.availableParallelism?.() ?? os.cpus().length));
