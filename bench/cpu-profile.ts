// Where Hoist's CPU goes: uploads a file to the bench sink with Hoist at its defaults under
// `node --cpu-prof` (main thread and every worker thread write a profile), then sorts each sampled
// moment of the upload into a category by its stack, and scales the shares to the CPU seconds the
// process really used (process.cpuUsage: on a loaded machine the profiler's wall-clock samples
// overstate time on CPU, their proportions do not). `--files 2000x1MiB` uploads a folder of that many
// files instead (issue 12's small files) and ranks, per thread kind, the Hoist source file each sample
// ran under (the nearest frame of Hoist's own code, leaf first: what it does and what it calls) and the
// functions with the most self time. Usage:
//   node build/bench/cpu-profile.js [--size 2GiB | --files 2000x1MiB] [--integrity MODE] [--top 25] [--keep DIR]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes, parseSize } from '../src-main/engine/upload/part-plan.js';
import { parseCount, prepareCase } from './cases.js';
import { startSinkProcess, writeRandomFile } from './fixtures.js';
import { GiB } from './process-stats.js';
import { fixed, table } from './report.js';
import type { VariantRequest, VariantResult } from './run-variant.js';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const CATEGORIES = [
  'MD5 / part checksums',
  'whole-file hashes (xxh64, …)',
  'file reads',
  'HTTP + SDK (requests, sockets, XML)',
  'request signing',
  'progress and part messages',
  'SQLite (job store)',
  'garbage collection',
  'module loading',
  'other',
] as const;
type Category = (typeof CATEGORIES)[number];

const has = (frames: CallFrame[], test: (f: CallFrame) => boolean) => frames.some(test);
const inFile = (re: RegExp) => (f: CallFrame) => re.test(f.url);

/** A sample's category from its stack, leaf first. */
export function categorize(frames: CallFrame[]): Category {
  const leaf = frames[0]!;
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (has(frames, inFile(/node:internal\/modules|cjs-module-lexer|bootstrap\/realm/))) return 'module loading';
  if (has(frames, inFile(/signature-v4|hash-node|sha256-js/))) return 'request signing';
  if (has(frames, inFile(/upload\/file-hashes|hash-wasm|^wasm:/))) return 'whole-file hashes (xxh64, …)';
  const hashing = /^(update|digest)$/.test(leaf.functionName) && /crypto/.test(leaf.url);
  if (hashing || has(frames, inFile(/upload\/checksums|aws-crt|zlib/))) return 'MD5 / part checksums';
  if (has(frames, inFile(/better-sqlite3|engine\/store\//))) return 'SQLite (job store)';
  if (/^(read|open|close|fstat|stat)$/.test(leaf.functionName) || has(frames, inFile(/upload\/file-range|internal\/fs\//))) return 'file reads';
  if (has(frames, (f) => /postMessage|onmessage|\[kOnMessage\]|emitMessage/.test(f.functionName) || /worker\/io|worker-pool|progress/.test(f.url))) return 'progress and part messages';
  if (has(frames, inFile(/@aws-sdk|@smithy|node:_http|node:net|stream_base_commons|node:internal\/http|undici|fast-xml-parser|xml-builder/))) return 'HTTP + SDK (requests, sockets, XML)';
  if (/^(writeBuffer|writev|writeUtf8String|writeLatin1String)$/.test(leaf.functionName)) return 'HTTP + SDK (requests, sockets, XML)';
  return 'other';
}

/** Microseconds per category of one profile's samples inside [fromUs, toUs] (idle and program time left out). */
export function profileShares(p: Profile, fromUs: number, toUs: number): Map<Category, number> {
  return profileBy(p, fromUs, toUs, categorize);
}

/** The Hoist source file a sample ran under (nearest frame of build/src-main or build/shared, leaf first), else the leaf's package or Node's module. */
export function ownerOf(frames: CallFrame[]): string {
  const own = frames.find((f) => /\/build\/(src-main|shared)\//.test(f.url));
  if (own) return own.url.replace(/^.*\/build\//, '').replace(/\.js$/, '');
  const leaf = frames[0]!;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(leaf.url);
  if (pkg) return pkg[1]!;
  return leaf.url ? leaf.url.replace(/^.*\/node_modules\//, '') : leaf.functionName;
}

/** Self microseconds per key of one profile's samples inside [fromUs, toUs] (idle, program and root left out). */
export function profileBy<K extends string>(p: Profile, fromUs: number, toUs: number, keyOf: (frames: CallFrame[]) => K): Map<K, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, K | null>();
  const out = new Map<K, number>();
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) return;
    let k = cache.get(id);
    if (k === undefined) {
      const frames: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at)!.callFrame);
      const name = frames[0]!.functionName;
      k = name === '(idle)' || name === '(root)' || name === '(program)' ? null : keyOf(frames);
      cache.set(id, k);
    }
    if (k) out.set(k, (out.get(k) ?? 0) + dt);
  });
  return out;
}

/** A leaf function's name and where it is: `name file:line`. */
function leafName(frames: CallFrame[]): string {
  const f = frames[0]! as CallFrame & { lineNumber?: number };
  const file = f.url.replace(/^.*\/(node_modules|build)\//, '').replace(/^file:\/\//, '');
  return `${f.functionName || '(anonymous)'} ${file}${f.lineNumber !== undefined && f.url ? `:${f.lineNumber + 1}` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '2GiB' }, files: { type: 'string' }, top: { type: 'string', default: '25' }, integrity: { type: 'string' }, keep: { type: 'string' } }, strict: true });
  const folder = values.files ? parseCount(values.files, parseSize) : null;
  const size = folder ? folder.count * folder.fileBytes : parseSize(values.size);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-profile-'));
  const profDir = values.keep ?? path.join(workDir, 'profiles');
  fs.mkdirSync(profDir, { recursive: true });
  const sink = await startSinkProcess();
  try {
    const file = folder ? (await prepareCase({ id: 'files', ...folder }, workDir)).path : path.join(workDir, 'A001_C003.mov');
    if (!folder) await writeRandomFile(file, size);
    const bucket = `hoist-profile-${randomBytes(4).toString('hex')}`;
    await fetch(`${sink.url}/${bucket}`, { method: 'PUT' });
    const resultFile = path.join(workDir, 'result.json');
    const request: VariantRequest = {
      variant: 'hoist', file, size, endpoint: sink.url, bucket, key: folder ? 'profile' : 'profile/A001_C003.mov', partSize: 0, concurrency: 0, workDir, engineDefaults: true, resultFile,
      ...(values.integrity ? { integrity: values.integrity } : {}),
    };
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, new URL('./run-variant.js', import.meta.url).pathname, JSON.stringify(request)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as VariantResult;
    const threads = fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort();
    // Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>: thread 0 is the main thread.
    const profiles = threads.map((f) => ({ main: f.split('.')[4] === '0', profile: JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8')) as Profile }));
    const shares = profiles.map(({ main, profile }) => ({ main, us: profileShares(profile, result.clockUs.start, result.clockUs.stop) }));
    const sampled = shares.reduce((n, s) => n + [...s.us.values()].reduce((a, b) => a + b, 0), 0);
    const gib = size / GiB;
    const scale = result.cpuSeconds / (sampled / 1e6);
    const perGiB = (us: number) => (us / 1e6) * scale / gib;
    const rows = CATEGORIES.map((c) => {
      const main = shares.filter((s) => s.main).reduce((n, s) => n + (s.us.get(c) ?? 0), 0);
      const workers = shares.filter((s) => !s.main).reduce((n, s) => n + (s.us.get(c) ?? 0), 0);
      return [c, fixed(perGiB(main), 2), fixed(perGiB(workers), 2), fixed(perGiB(main + workers), 2), `${fixed((100 * (main + workers)) / sampled, 0)}%`];
    });
    const mainUs = shares.filter((s) => s.main).reduce((n, s) => n + [...s.us.values()].reduce((a, b) => a + b, 0), 0);
    rows.push(['total', fixed(perGiB(mainUs), 2), fixed(perGiB(sampled - mainUs), 2), fixed(result.cpuSeconds / gib, 2), '100%']);
    console.log(`Hoist at defaults${values.integrity ? `, integrity ${values.integrity}` : ''}, ${formatBytes(size)} to the bench sink: ${fixed(size / 1e6 / result.wallSeconds, 0)} MB/s, ${fixed(result.cpuSeconds / gib, 2)} CPU s/GiB, ${result.uploadPartRequests} parts`);
    console.log(`${threads.length} profiles (main thread and ${threads.length - 1} worker threads); samples from the first request to the end, shares scaled to process.cpuUsage()`);
    console.log(table(['CPU s per GiB', 'main thread', 'worker threads', 'total', 'share'], rows));
    if (folder) {
      const perFileMs = (us: number) => ((us / 1e6) * scale * 1000) / folder.count;
      console.log(`${folder.count} files: ${fixed(folder.count / result.wallSeconds, 0)} files/s, ${fixed(result.cpuSeconds, 2)} CPU s, ${fixed((result.cpuSeconds * 1000) / folder.count, 2)} CPU ms per file`);
      for (const [title, keyOf] of [['Hoist source file the sample ran under', ownerOf], ['function (self time)', leafName]] as const) {
        for (const main of [true, false]) {
          const sum = new Map<string, number>();
          for (const p of profiles.filter((x) => x.main === main)) for (const [k, us] of profileBy(p.profile, result.clockUs.start, result.clockUs.stop, keyOf)) sum.set(k, (sum.get(k) ?? 0) + us);
          const top = [...sum].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
          console.log(`\n${main ? 'main thread' : 'worker threads'}, by ${title}: CPU ms per file`);
          console.log(table(['', 'ms/file'], top.map(([k, us]) => [k, fixed(perFileMs(us), 3)])));
        }
      }
    }
    if (values.keep) console.log(`profiles kept in ${profDir} (open them in Chrome DevTools, Performance tab)`);
    return 0;
  } finally {
    if (sink.child.connected) sink.child.disconnect();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) process.exitCode = await main(process.argv.slice(2));
