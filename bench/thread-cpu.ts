// CPU and wake-ups per thread of a Hoist run (issue 12, small files): on 2 busy cores every wake of
// another thread is a context switch, and the process's CPU total does not say which thread pays.
// Runs `run-variant.js` of each build given (as ab-builds.ts does: the same folder, one sink process,
// builds alternated, order reversed every other round) and polls /proc/PID/task/*/{stat,status} every
// 20 ms, keeping each thread's last figures (a thread that exits loses at most its last 20 ms).
// Threads are all named "node"; they are told apart by when they started: the main thread is the
// process's, V8's platform threads start with it, libuv's threadpool starts together at the first
// file-system call (4 threads), and worker threads start one by one later (the SQLite checkpoint
// thread and the part workers); a worker's own thread is ranked by its CPU, which is what the table
// shows. The sink's CPU over the run is beside it. Usage:
//   node build/bench/thread-cpu.js [--rounds 1] [--files 2000x1MiB] [--settings inflight=8] DIR_A [DIR_B …]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src-main/engine/upload/part-plan.js';
import { parseCount, prepareCase } from './cases.js';
import { parseHoistSettings } from './compare.js';
import { startSinkProcess } from './fixtures.js';
import type { VariantRequest } from './run-variant.js';

const TICKS = 100; // USER_HZ on Linux
const POLL_MS = 20;

interface ThreadFigures {
  tid: number;
  /** Clock ticks since boot when the thread started. */
  start: number;
  cpu: number;
  voluntary: number;
  involuntary: number;
}

/** utime + stime (seconds) and start time of one task, from its stat line (fields after the parenthesised name). */
function readStat(file: string): { cpu: number; start: number } | null {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
    return { cpu: (Number(f[11]) + Number(f[12])) / TICKS, start: Number(f[19]) };
  } catch {
    return null;
  }
}

function readSwitches(file: string): { voluntary: number; involuntary: number } {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return { voluntary: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(text)?.[1] ?? 0), involuntary: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(text)?.[1] ?? 0) };
  } catch {
    return { voluntary: 0, involuntary: 0 };
  }
}

function poll(pid: number, seen: Map<number, ThreadFigures>): void {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const t of tids) {
    const stat = readStat(`/proc/${pid}/task/${t}/stat`);
    if (!stat) continue;
    const sw = readSwitches(`/proc/${pid}/task/${t}/status`);
    seen.set(Number(t), { tid: Number(t), start: stat.start, cpu: stat.cpu, ...sw });
  }
}

interface Group {
  name: string;
  threads: ThreadFigures[];
}

/**
 * Where four threads with consecutive ids start within a tick of each other (a pool started in one
 * loop), from `from` on; of several such windows, the one whose threads woke most (node's own helper
 * threads can start in the same tick as a pool, and sleep for the whole run).
 */
function poolAt(ts: ThreadFigures[], from: number, busiest: boolean): number {
  let best = -1;
  let bestWakes = -1;
  for (let i = from; i + 3 < ts.length; i++) {
    if (ts[i + 3]!.tid !== ts[i]!.tid + 3 || ts[i + 3]!.start - ts[i]!.start > 1) continue;
    if (!busiest) return i;
    const wakes = sum(ts.slice(i, i + 4), 'voluntary');
    if (wakes > bestWakes) [best, bestWakes] = [i, wakes];
  }
  return best;
}

/**
 * Main; V8's platform (the first four threads started in one go, and node's helpers started with the
 * process before them); libuv's threadpool (four more started in one go by the first file-system
 * call, the busiest such four); the rest (worker threads, which start one by one), each alone, ranked by CPU.
 */
function classify(pid: number, threads: ThreadFigures[]): Group[] {
  const main = threads.filter((t) => t.tid === pid);
  const rest = threads.filter((t) => t.tid !== pid).sort((a, b) => a.tid - b.tid);
  const platformAt = poolAt(rest, 0, false);
  const libuvAt = platformAt < 0 ? -1 : poolAt(rest, platformAt + 4, true);
  if (libuvAt < 0) return [{ name: 'main', threads: main }, ...rest.map((t) => ({ name: `thread +${t.tid - pid}`, threads: [t] }))];
  const platform = rest.slice(0, platformAt + 4);
  const other = rest.slice(platformAt + 4, libuvAt);
  const pool = rest.slice(libuvAt, libuvAt + 4);
  const workers = rest.slice(libuvAt + 4).sort((a, b) => b.cpu - a.cpu);
  return [
    { name: 'main', threads: main },
    { name: `V8 platform, node (${platform.length + other.length})`, threads: [...platform, ...other] },
    { name: 'libuv threadpool (4)', threads: pool },
    ...workers.map((w, i) => ({ name: `worker thread #${i + 1} by CPU`, threads: [w] })),
  ];
}

function sum(ts: ThreadFigures[], k: 'cpu' | 'voluntary' | 'involuntary'): number {
  return ts.reduce((s, t) => s + t[k], 0);
}

function procCpu(pid: number): number {
  return readStat(`/proc/${pid}/stat`)?.cpu ?? 0;
}

async function runOnce(dir: string, request: VariantRequest, sinkPid: number, files: number): Promise<void> {
  const load = os.loadavg()[0]!;
  const sinkBefore = procCpu(sinkPid);
  const started = Date.now();
  // THREADS_WRAP: a command to run the process under (e.g. strace), for a look at its calls; the CPU table is then the wrapper's.
  const wrap = process.env.THREADS_WRAP?.split(' ').filter(Boolean) ?? [];
  const child = spawn(wrap[0] ?? process.execPath, [...wrap.slice(1), ...(wrap.length ? [process.execPath] : []), path.join(dir, 'build/bench/run-variant.js'), JSON.stringify(request)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const seen = new Map<number, ThreadFigures>();
  const timer = setInterval(() => poll(child.pid!, seen), POLL_MS);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  const wall = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`${dir}: the run failed (exit ${code})`);
  const sinkCpu = procCpu(sinkPid) - sinkBefore;
  const groups = classify(child.pid!, [...seen.values()]);
  if (process.env.THREADS_RAW) for (const t of [...seen.values()].sort((a, b) => a.tid - b.tid)) console.log(`    tid +${t.tid - child.pid!} start +${t.start - (seen.get(child.pid!)?.start ?? 0)} cpu ${t.cpu.toFixed(2)} vol ${t.voluntary} invol ${t.involuntary}`);
  const all = [...seen.values()];
  console.log(`${dir}: ${(files / wall).toFixed(0)} files/s, ${sum(all, 'cpu').toFixed(2)} CPU s in ${all.length} threads, sink ${sinkCpu.toFixed(2)} CPU s, load ${load.toFixed(1)}`);
  console.log(`  ${'thread'.padEnd(26)} ${'CPU s'.padStart(6)} ${'wakes/file'.padStart(10)} ${'preempted/file'.padStart(14)}`);
  for (const g of groups) {
    if (g.threads.length === 0) continue;
    const wakes = sum(g.threads, 'voluntary') / files;
    const pre = sum(g.threads, 'involuntary') / files;
    console.log(`  ${g.name.padEnd(26)} ${sum(g.threads, 'cpu').toFixed(2).padStart(6)} ${wakes.toFixed(2).padStart(10)} ${pre.toFixed(2).padStart(14)}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '1' }, files: { type: 'string', default: '2000x1MiB' }, settings: { type: 'string' } }, allowPositionals: true });
  const dirs = positionals.length > 0 ? positionals : ['.'];
  const folder = parseCount(values.files, parseSize);
  const hoist = values.settings ? parseHoistSettings(values.settings) : null;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-threads-'));
  const prepared = await prepareCase({ id: 'files', ...folder }, work);
  const sink = await startSinkProcess();
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const dir of round % 2 ? [...dirs].reverse() : dirs) {
        const bucket = `threads-${round}-${Date.now()}`;
        await fetch(`${sink.url}/${bucket}`, { method: 'PUT' });
        const runDir = fs.mkdtempSync(path.join(work, 'run-'));
        const request: VariantRequest = {
          variant: 'hoist', file: prepared.path, size: prepared.bytes, endpoint: sink.url, bucket, key: 'files', partSize: 0, concurrency: 0, workDir: runDir, engineDefaults: true, sdkChecksums: true,
          resultFile: path.join(runDir, 'result.json'),
          ...(hoist?.settings ? { settings: hoist.settings } : {}),
          ...(hoist?.integrity ? { integrity: hoist.integrity } : {}),
        };
        await runOnce(dir, request, sink.child.pid!, folder.count);
        fs.rmSync(runDir, { recursive: true, force: true });
      }
    }
  } finally {
    sink.child.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
