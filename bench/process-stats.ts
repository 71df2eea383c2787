// Memory and CPU figures of this process and of server processes, read from /proc where Linux has it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Peak resident set size so far: VmHWM on Linux, else the largest sample seen by `RssSampler`. */
export function peakRssBytes(sampler?: RssSampler): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return Math.max(sampler?.peak ?? 0, process.memoryUsage.rss());
}

/** Samples RSS as a fallback where VmHWM is unavailable. */
export class RssSampler {
  peak = process.memoryUsage.rss();
  private readonly timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage.rss())), 50).unref();

  stop(): void {
    clearInterval(this.timer);
  }
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds another process has used (all its threads), or null if /proc cannot tell. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Summed CPU seconds of the given processes, or null if any cannot be read. */
export function totalCpuSeconds(pids: readonly number[]): number | null {
  if (pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    const s = processCpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  return total;
}
