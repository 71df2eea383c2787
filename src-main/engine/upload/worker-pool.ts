import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { HoistError } from '../../../shared/errors.js';
import type { ErrorInfo } from '../../../shared/errors.js';
import { DEFAULT_HELD_PART_BYTES } from './held-part.js';
import { PART_WORKER_SCRIPT, heldShare, startPartThread, takePrestarted, type PartWorkerData, type ThreadNotice } from './part-thread.js';
import type { HashCheckpoint, TaskSuccess, WorkerReply, WorkerTask } from './tasks.js';
import { threadCpuNs } from './thread-cpu.js';

export { defaultPoolSize, type PartWorkerData } from './part-thread.js';

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
  onPartChecksum?: PartChecksumListener;
}

/** A hash-file pass with `partSize` reports each part's checksum (base64) as the part ends. */
export type PartChecksumListener = (offset: number, length: number, checksum: string) => void;

interface PoolWorker {
  thread: Worker;
  busy: number;
  /** The thread's event-loop counters when its utilization was last taken, and that utilization (0..1). */
  mark: EventLoopUtilization;
  utilization: number;
  /** The thread's kernel id, once it told it (Linux), and its CPU time (ns) at `mark`: see sample(). */
  tid: number | null;
  cpuMark: number | null;
  /** Whether the thread has answered a task: until then its loop's business is its own start. */
  answered: boolean;
}

/**
 * What the scheduler asks of the pool, and all it may: a test's stand-in implements this, so the
 * compiler sees a method it lacks (a cast to the whole pool hid one in stop 23).
 */
export interface PartRunner {
  run(task: NewTask, onProgress?: (bytesSent: number) => void, onCheckpoint?: (checkpoint: HashCheckpoint) => void, onPartChecksum?: PartChecksumListener): { taskId: number; outcome: Promise<TaskOutcome> };
  abort(taskId: number): void;
  warm(): void;
}

/**
 * Distributes tasks over a few worker threads, each running several at once (their I/O is async): a new
 * thread starts only while every thread is busy and fewer than `maxWorkers` run, so memory follows the
 * thread count, not the parts in flight. Each thread hashes with one core.
 *
 * A task whose hashing is light (CRC32/CRC32C parts, xxh whole-file hashes: under 0.2 CPU s/GiB) starts
 * a new thread only when every running one is also saturated (its event loop busy 80% of the time since
 * the pool last looked). A thread costs about 0.3 CPU s to start (the AWS SDK and node-http-handler
 * loaded in its own isolate), and one thread carries a clip's four parts with CRC32C and the xxh64 pass:
 * paired runs of the 2 GiB clip at defaults, 2.12 → 1.73 CPU s/GiB (6 of 6 lower), MB/s unchanged,
 * peak RSS 145 → 126 MiB (docs/performance.md, "Fixed costs per process"). MD5, SHA and CRC64NVME tasks
 * start threads as before: with MD5 one thread's event loop, waiting on reads between updates, read
 * 0.52-0.68 and never looked saturated, yet the upload went slower on it (126 → 102 MB/s, paired).
 */
export class WorkerPool implements PartRunner {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextTaskId = 1;
  private closed = false;

  constructor(
    private maxWorkers: number,
    private readonly script = PART_WORKER_SCRIPT,
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
  run(task: NewTask, onProgress?: (bytesSent: number) => void, onCheckpoint?: (checkpoint: HashCheckpoint) => void, onPartChecksum?: PartChecksumListener): { taskId: number; outcome: Promise<TaskOutcome> } {
    if (this.closed) throw new Error('worker pool is closed');
    const taskId = this.nextTaskId++;
    const worker = this.pickWorker(needsCore(task));
    worker.busy++;
    const outcome = new Promise<TaskOutcome>((resolve) => {
      this.pending.set(taskId, { worker, resolve, ...(onProgress ? { onProgress } : {}), ...(onCheckpoint ? { onCheckpoint } : {}), ...(onPartChecksum ? { onPartChecksum } : {}) });
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

  /**
   * Starts the first thread if none runs, ahead of its first task. A thread takes 0.2-0.4 s to load
   * (its modules, aws-crt's native CRC32C), during which a part given to it waits; the scheduler calls
   * this when it opens a job, so the load overlaps the job's preparation (its key decision, its
   * CreateMultipartUpload) instead of following it. Idle, no thread is kept started: a pool that
   * never ran a job starts none. `hoist upload` starts it earlier still, before the engine loads
   * (part-thread.ts): then this thread is that one.
   */
  warm(): void {
    if (!this.closed && this.workers.length === 0 && this.maxWorkers > 0) this.spawn();
  }

  /** Threads running (started and not dead). */
  get threads(): number {
    return this.workers.length;
  }

  private pickWorker(heavy: boolean): PoolWorker {
    const idle = this.workers.find((w) => w.busy === 0);
    if (idle) return idle;
    if (this.workers.length < this.maxWorkers) {
      if (heavy) return this.spawn();
      this.sample();
      if (this.workers.every((w) => w.utilization >= SATURATED)) return this.spawn();
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  /**
   * Takes each thread's event-loop utilization since its last sample, once UTILIZATION_WINDOW_MS have
   * passed (until then the last figure stands); a thread counts as saturated from SATURATED of the
   * time busy. A thread still loading its modules has no loop running yet and counts as not
   * saturated: a task given to it waits for the load, which a new thread would have to do too.
   *
   * Issue 12 (docs/small-files.md, "Sixth round"): the 2,000 × 1 MiB run started its second thread
   * in every run, once half a second in (the first thread's loop 0.90-0.92 busy with its own cold
   * start) and, with that window skipped, 3 s in (0.86-0.90), though one thread carries those frames
   * at 2 CPU ms each. A loop counts as busy while its thread waits for a core another thread or
   * process holds (the main thread, the server, here two cores for all) and while it is held in a
   * call, neither of which a second thread takes off it. So: a thread's window starts at its first
   * answer (its start is no load), and where its CPU time can be read (Linux, thread-cpu.ts) its
   * utilization is the share of the window it ran on a core; elsewhere its loop's, as before.
   */
  private sample(): void {
    for (const w of this.workers) {
      if (!w.answered) continue;
      const now = w.thread.performance.eventLoopUtilization();
      const since = w.thread.performance.eventLoopUtilization(now, w.mark);
      const wallMs = since.idle + since.active;
      if (wallMs < UTILIZATION_WINDOW_MS) continue;
      const cpu = w.tid === null ? null : threadCpuNs(w.tid);
      w.utilization = cpu !== null && w.cpuMark !== null ? (cpu - w.cpuMark) / 1e6 / wallMs : since.utilization;
      w.mark = now;
      w.cpuMark = cpu;
    }
  }

  /** The thread's first answer: from here its utilization is taken (sample()). */
  private answered(w: PoolWorker): void {
    w.answered = true;
    w.mark = w.thread.performance.eventLoopUtilization();
    w.cpuMark = w.tid === null ? null : threadCpuNs(w.tid);
  }

  private spawn(): PoolWorker {
    // Each thread holds its share of the parts' memory (held-part.ts), so the process's stays bounded however many threads run.
    const workerData: PartWorkerData = { heldPartBytes: heldShare(this.heldPartBudget, this.maxWorkers) };
    // The first thread may have been started before the engine loaded (part-thread.ts, `hoist upload`).
    const early = takePrestarted(this.script, workerData);
    const thread = early?.thread ?? startPartThread(this.script, workerData);
    const w: PoolWorker = { thread, busy: 0, mark: thread.performance.eventLoopUtilization(), utilization: 0, tid: early?.tid ?? null, cpuMark: null, answered: false };
    thread.on('message', (msg: WorkerReply | ThreadNotice) => {
      if (msg.type === 'thread') w.tid = msg.tid;
      else this.onMessage(msg);
    });
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
    if (msg.type === 'part-checksum') {
      p.onPartChecksum?.(msg.offset, msg.length, msg.checksum);
      return;
    }
    this.pending.delete(msg.taskId);
    p.worker.busy--;
    if (!p.worker.answered) this.answered(p.worker);
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
 * Whether the task's hashing wants a core of its own: MD5 (Content-MD5, or a range hashed to compare with
 * an ETag), SHA or CRC64NVME part checksums, whole-file hashes other than xxh64/xxh3/xxh128 (MD5 1.6 CPU
 * s/GiB here, CRC64NVME 0.7; CRC32C 0.05, xxh64 0.15: docs/performance.md).
 */
export function needsCore(task: NewTask): boolean {
  if (task.kind === 'hash-range') return true;
  if (task.checksumAlgorithm !== null && task.checksumAlgorithm !== 'crc32' && task.checksumAlgorithm !== 'crc32c') return true;
  if (task.kind === 'hash-file') return task.algorithms.some((a) => !a.startsWith('xxh'));
  if (task.contentMd5 !== false) return true;
  return task.kind === 'put-object' && (task.fileHashes ?? []).some((a) => !a.startsWith('xxh'));
}

/** Event-loop utilization from which a thread counts as saturated, and the shortest time it is taken over. */
const SATURATED = 0.8;
const UTILIZATION_WINDOW_MS = 100;
