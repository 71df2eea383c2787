// A stand-in part worker for the pool's tests (test/unit/worker-pool.test.ts): every task first says
// it has started (a progress message), then either waits idle or holds its thread's CPU in a loop,
// until the test sets the task's shared flag; then it is done.
import { parentPort } from 'node:worker_threads';

export interface HeldTask {
  taskId: number;
  /** 'spin': the thread's event loop is busy all the time; 'wait': it is idle. */
  path: 'spin' | 'wait';
  /** Set to 1 by the test to end the task (shared memory: a spinning thread reads no messages). */
  flag: Int32Array;
}

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
  const timer = setInterval(() => {
    if (Atomics.load(flag, 0) === 0) return;
    clearInterval(timer);
    done();
  }, 20);
});
