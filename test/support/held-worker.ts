// A stand-in part worker for the pool's tests (test/unit/worker-pool.test.ts): every task first says
// it has started (a progress message), then either waits idle or holds its thread's CPU in a loop,
// until the test sets the task's shared flag; then it is done. Like the part worker, it tells the pool
// its thread id first (thread-cpu.ts).
import { parentPort } from 'node:worker_threads';
import { ownThreadId } from '../../src-main/engine/upload/thread-cpu.js';

export interface HeldTask {
  taskId: number;
  /** 'spin': the thread's event loop is busy all the time; 'wait': it is idle; 'block': its loop is held in a call that uses no CPU (as a read from a slow disk). */
  path: 'spin' | 'wait' | 'block';
  /** Set to 1 by the test to end the task (shared memory: a spinning thread reads no messages). */
  flag: Int32Array;
}

parentPort!.postMessage({ type: 'thread', tid: ownThreadId() });

parentPort!.on('message', (msg: { type: string; task: HeldTask }) => {
  if (msg.type !== 'run') return;
  const { taskId, path, flag } = msg.task;
  const done = () => parentPort!.postMessage({ type: 'done', taskId, result: { md5Hex: '', checksum: null } });
  parentPort!.postMessage({ type: 'progress', taskId, bytesSent: 0 });
  if (path === 'spin') {
    while (Atomics.load(flag, 0) === 0) {
      // Holding the CPU, as MD5 over a part does.
    }
    done();
    return;
  }
  if (path === 'block') {
    while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 20);
    done();
    return;
  }
  const timer = setInterval(() => {
    if (Atomics.load(flag, 0) === 0) return;
    clearInterval(timer);
    done();
  }, 20);
});
