// A thread's own CPU time, for the part workers' pool (worker-pool.ts): whether a thread is saturated
// is taken from the time it ran on a core, not from its event loop's busy time, which also counts the
// time the thread waited for a core held by another thread or process (issue 12, docs/small-files.md
// "Sixth round"). Linux only (/proc); elsewhere both answer null and the pool uses the loop's figure.
import fs from 'node:fs';

/** This thread's id in the kernel (for a worker thread to tell the pool), or null where it cannot be known. */
export function ownThreadId(): number | null {
  try {
    // "/proc/thread-self" links to "PID/task/TID".
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** Nanoseconds thread `tid` of this process has run on a core (schedstat's first field), or null. */
export function threadCpuNs(tid: number): number | null {
  try {
    const ns = Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns : null;
  } catch {
    return null;
  }
}
