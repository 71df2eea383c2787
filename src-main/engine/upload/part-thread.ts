// Starting a part-worker thread (worker-pool.ts runs them), and starting the first one early: before
// the engine's modules load, for a command that will upload (cli/early-start.ts, `hoist upload`).
// A thread takes 0.2-0.4 s of its own to load (the SDK's signer, our modules, aws-crt's CRC32C); the
// main thread takes 0.3-0.9 s to load the engine and open the store before it opens the job. Started
// when the job opened (WorkerPool.warm), the thread's load was on the clip's path to its first byte;
// started first, it runs beside the main thread's (docs/performance.md, "Before the first byte").
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { DEFAULT_HELD_PART_BYTES } from './held-part.js';

/** What each thread is started with. */
export interface PartWorkerData {
  heldPartBytes: number;
}

/** A thread's first message: its kernel id (null where unknown), for its CPU time (thread-cpu.ts). */
export interface ThreadNotice {
  type: 'thread';
  tid: number | null;
}

export const PART_WORKER_SCRIPT = new URL('./part-worker.js', import.meta.url);

/**
 * A part worker allocates little (its buffers are pooled), but V8 lets each isolate's young generation
 * grow to 32 MiB over a long upload: capped, peak RSS stays flat from a 1 GiB to a 16 GiB file
 * (+14% uncapped) at no measurable CPU cost (docs/performance.md).
 */
const WORKER_YOUNG_GENERATION_MB = 2;

/** One thread per core (at least 2, at most 8): hashing is what needs them; more threads only cost memory. */
export const defaultPoolSize = (): number => Math.min(8, Math.max(2, os.availableParallelism?.() ?? os.cpus().length));

/** Each thread's share of the parts held in memory: the pool's budget over its threads (held-part.ts). */
export const heldShare = (budget: number, maxWorkers: number): number => Math.floor(budget / maxWorkers);

export function startPartThread(script: URL, data: PartWorkerData): Worker {
  return new Worker(script, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
}

interface Early {
  thread: Worker;
  script: string;
  data: PartWorkerData;
  drop: () => void;
  /** Its ThreadNotice, kept here: it may come before a pool takes the thread and listens. */
  tid: number | null;
  notice: (msg: ThreadNotice) => void;
}
let early: Early | null = null;

/**
 * Starts a part worker now, for the first WorkerPool that wants a thread of this script and share
 * (an engine at its defaults, unless told otherwise). Until a pool takes it the thread does not keep
 * the process alive, and if none does (nothing to upload after all) it ends with the process.
 */
export function prestartPartThread(script = PART_WORKER_SCRIPT, data: PartWorkerData = { heldPartBytes: heldShare(DEFAULT_HELD_PART_BYTES, defaultPoolSize()) }): Worker {
  if (early) return early.thread;
  const thread = startPartThread(script, data);
  const e: Early = {
    thread,
    script: script.href,
    data,
    drop: () => void (early === e && (early = null)),
    tid: null,
    notice: (msg) => void (msg.type === 'thread' && (e.tid = msg.tid)),
  };
  thread.on('message', e.notice);
  // After the listener: adding a 'message' listener refs the thread again (a `hoist upload` that queued nothing then never exited).
  thread.unref();
  thread.once('error', e.drop);
  thread.once('exit', e.drop);
  early = e;
  return thread;
}

/**
 * The thread prestartPartThread started, if it was for this script and share: handed over once, kept
 * alive from now, with its kernel id if it told it already (later messages go to the taker's listener).
 */
export function takePrestarted(script: URL, data: PartWorkerData): { thread: Worker; tid: number | null } | null {
  const e = early;
  if (!e || e.script !== script.href || e.data.heldPartBytes !== data.heldPartBytes) return null;
  early = null;
  e.thread.off('error', e.drop);
  e.thread.off('exit', e.drop);
  e.thread.off('message', e.notice);
  e.thread.ref();
  return { thread: e.thread, tid: e.tid };
}
