// Runs a peer as a child process and measures its whole process tree from the outside, the same way for
// every peer (a Node variant, aws-cli's Python, rclone's Go): wall time from spawn to exit, and from
// wait4's rusage through GNU time, children included, user + system CPU, the largest max RSS and the
// blocks read from the device (ru_inblock: /proc/<pid>/io read_bytes / 512, summed over the tree).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';

export interface ProcessFigures {
  wallSeconds: number;
  /** null where GNU time is not installed. */
  cpuSeconds: number | null;
  peakRssBytes: number | null;
  /** Bytes the tree read from the block device (not from the page cache). */
  deviceReadBytes: number | null;
}

export function canMeasureTree(): boolean {
  return fs.existsSync(GNU_TIME);
}

/** Whether `command` is on PATH (or is a path that exists), for "skipped: not installed". */
export function installed(command: string): boolean {
  if (command.includes('/')) return fs.existsSync(command);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

/**
 * Runs argv with env, kills its process group after timeoutMs, and throws with the tail of its stderr
 * when it fails. `scratch` is a file path GNU time may write its figures to.
 */
export async function runMeasured(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number, scratch: string, label: string): Promise<ProcessFigures> {
  const wrapped = canMeasureTree() ? [GNU_TIME, '-f', '%U %S %M %I', '-o', scratch, ...argv] : argv;
  const t0 = performance.now();
  const child = spawn(wrapped[0]!, wrapped.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  // Ctrl-C reaches our own process group, not the child's (detached): pass it on, so it stops too.
  const onInterrupt = () => {
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', onInterrupt);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(() => {
    clearTimeout(watchdog);
    process.off('SIGINT', onInterrupt);
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (timedOut) throw new Error(`${label} did not finish within ${Math.round(timeoutMs / 1000)} s; killed it`);
  if (code !== 0) throw new Error(`${label} failed (exit code ${code}):\n${stderr.trim().split('\n').slice(-12).join('\n')}`);
  if (!canMeasureTree()) return { wallSeconds, cpuSeconds: null, peakRssBytes: null, deviceReadBytes: null };
  // GNU time may write "Command exited with non-zero status" first; the figures are the last line.
  const line = fs.readFileSync(scratch, 'utf8').trim().split('\n').at(-1)!;
  fs.rmSync(scratch, { force: true });
  const [user, system, maxRssKiB, inBlocks] = line.split(/\s+/).map(Number);
  return { wallSeconds, cpuSeconds: user! + system!, peakRssBytes: maxRssKiB! * 1024, deviceReadBytes: inBlocks! * 512 };
}
