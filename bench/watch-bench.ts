// Watching a tree on this machine: the tree watcher (one fs.watch per directory) against Node's own
// `fs.watch(root, { recursive: true })`, on a tree of `--files` files in `--dirs` folders. Prints how
// long each takes to be ready, how long it holds the event loop at most meanwhile, how many watches
// it holds, and how soon a new file is reported. The figures beside the choice in docs/watch.md come
// from here (folders/watch-strategy.ts). No S3 server needed: `node build/bench/watch-bench.js`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { NativeTreeWatcher } from '../src-main/engine/folders/native-watcher.js';
import { TreeWatcher } from '../src-main/engine/folders/tree-watcher.js';

const { values } = parseArgs({ options: { files: { type: 'string', default: '10000' }, dirs: { type: 'string', default: '1000' }, runs: { type: 'string', default: '3' } } });
const files = Number(values.files);
const dirs = Number(values.dirs);
const runs = Number(values.runs);

function makeTree(root: string): void {
  const perDir = Math.ceil(files / dirs);
  for (let d = 0; d < dirs; d++) {
    // Ten cards of clips, two levels deep, as an offload looks.
    const dir = path.join(root, `card${String(d % 10).padStart(2, '0')}`, `CLIP${String(d).padStart(4, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < files; f++) fs.writeFileSync(path.join(dir, `A${String(f).padStart(3, '0')}.mov`), 'x');
  }
}

/** inotify watches this process holds (Linux), from /proc. */
function inotifyWatches(): number | null {
  if (process.platform !== 'linux') return null;
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
    try {
      n += fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

interface Result {
  readyMs: number;
  maxLoopMs: number;
  watches: number | null;
  eventMs: number;
}

async function measure(root: string, start: (onFile: (f: string) => void) => Promise<() => void>): Promise<Result> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  let wanted = '';
  let seenAt = 0;
  const starting = start((f) => {
    if (f === wanted && !seenAt) seenAt = performance.now();
  });
  // The part of the start that runs before control comes back (Node's recursive mode walks synchronously):
  // the histogram below cannot see a block that begins before its first sample.
  const syncMs = performance.now() - t0;
  const close = await starting;
  const readyMs = performance.now() - t0;
  // Let the start-up settle (Node's recursive mode reports every existing entry), then measure one new file.
  await new Promise((r) => setTimeout(r, 500));
  loop.disable();
  const watches = inotifyWatches();
  wanted = path.join(root, 'card03', 'CLIP0003', `NEW${Date.now()}.mov`);
  const t1 = performance.now();
  fs.writeFileSync(wanted, 'new');
  while (!seenAt && performance.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 1));
  const eventMs = seenAt ? seenAt - t1 : NaN;
  close();
  fs.rmSync(wanted, { force: true });
  return { readyMs, maxLoopMs: Math.max(syncMs, loop.max / 1e6), watches, eventMs };
}

/** One of Hoist's event sources, ready when it says so. */
const hoistWatcher = (make: () => TreeWatcher | NativeTreeWatcher) => (onFile: (f: string) => void) =>
  new Promise<() => void>((resolve) => {
    const w = make();
    w.on('change', onFile);
    w.once('ready', () => resolve(() => w.close()));
    void w.start();
  });

const tree = (root: string) => hoistWatcher(() => new TreeWatcher(root, { wantsDir: () => true }));
const native = (root: string) => hoistWatcher(() => new NativeTreeWatcher(root, { wantsDir: () => true }));
const nodeRecursive = (root: string) => async (onFile: (f: string) => void) => {
  const w = fs.watch(root, { recursive: true }, (_type, name) => name && onFile(path.join(root, name.toString())));
  return () => w.close();
};

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-watch-bench-'));
try {
  makeTree(root);
  console.log(`Node ${process.version} on ${process.platform}, ${files} files in ${dirs} folders, median of ${runs} runs`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [name, how] of [['tree watcher (fs.watch per directory)', tree], ['fs.watch recursive: true', nodeRecursive], ['NativeTreeWatcher', native]] as const) {
    const rs: Result[] = [];
    for (let i = 0; i < runs; i++) rs.push(await measure(root, how(root)));
    const f = (xs: number[]) => median(xs).toFixed(0);
    console.log(`${name.padEnd(40)} ready ${f(rs.map((r) => r.readyMs)).padStart(6)} ms  event loop held ${f(rs.map((r) => r.maxLoopMs)).padStart(5)} ms  watches ${String(rs[0]!.watches ?? '?').padStart(6)}  new file seen after ${f(rs.map((r) => r.eventMs))} ms`);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
