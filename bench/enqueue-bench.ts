// Queuing an image sequence (issue 12): how fast 10,000 small files become jobs, by `hoist upload DIR`
// (Engine.enqueue of the folder) and by a watched folder (from watcher.start() until every file is
// queued), with nothing uploading meanwhile (the engine is not started), against the bench sink.
// Prints files/s, the CPU seconds of this process, and the SQLite transactions and write statements
// the queuing made. Rounds alternate the two ways; medians.
//   npm run bench:enqueue -- / node build/bench/enqueue-bench.js [--files 10000] [--size 4096] [--rounds 3] [--stable-ms 500]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Engine } from '../src-main/engine/engine.js';
import { FolderWatcher } from '../src-main/engine/folders/folder-watcher.js';
import { benchDestination } from './destination.js';
import { startSinkProcess } from './fixtures.js';
import { fixed, median, table } from './report.js';
import { countWrites, installWriteCounting, type WriteCount } from './sql-writes.js';

interface Figures {
  wallS: number;
  cpuS: number;
  transactions: number;
  statements: number;
}

function makeSequence(dir: string, files: number, size: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const body = Buffer.alloc(size, 7);
  for (let i = 0; i < files; i++) {
    body.writeUInt32BE(i, 0);
    fs.writeFileSync(path.join(dir, `render_v12.${String(86_400 + i).padStart(7, '0')}.dpx`), body);
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function measure(workDir: string, endpoint: string, run: (engine: Engine, destId: number) => Promise<number>, files: number): Promise<Figures> {
  const dbDir = fs.mkdtempSync(path.join(workDir, 'db-'));
  const engine = new Engine({ dbPath: path.join(dbDir, 'hoist.db') });
  const dest = engine.upsertDestination(benchDestination('enqueue-sink', endpoint, 'hoist-enqueue'));
  const writes: WriteCount = countWrites(engine.store.db);
  try {
    const t0 = performance.now();
    const c0 = cpuSeconds();
    const queued = await run(engine, dest.id);
    const figures = { wallS: (performance.now() - t0) / 1000, cpuS: cpuSeconds() - c0, transactions: writes.transactions, statements: writes.statements };
    if (queued !== files) throw new Error(`${queued} of ${files} files were queued`);
    return figures;
  } finally {
    await engine.close();
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

async function uploadDir(engine: Engine, destId: number, dir: string): Promise<number> {
  const jobs = await engine.enqueue([dir], { destination: engine.store.getDestination(destId)!, prefix: `upload-${Date.now()}/` });
  return jobs.length;
}

async function watchDir(engine: Engine, destId: number, dir: string, files: number, stableMs: number): Promise<number> {
  const watcher = new FolderWatcher(engine);
  let queued = 0;
  watcher.on('file', (a) => void (a.action === 'queued' && queued++));
  let skipped = 0;
  watcher.on('skipped', (s) => void (skipped++ === 0 && console.error(`bench: skipped ${s.path}: ${s.message}`)));
  await watcher.addFolder({ path: dir, destinationId: destId, stableMs, prefix: `watch-${Date.now()}/` });
  await watcher.start();
  const deadline = Date.now() + 10 * 60_000;
  while (queued + skipped < files && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await watcher.stop();
  return queued;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { files: { type: 'string', default: '10000' }, size: { type: 'string', default: '4096' }, rounds: { type: 'string', default: '3' }, 'stable-ms': { type: 'string', default: '500' } } });
  const files = Number(values.files);
  const size = Number(values.size);
  const rounds = Number(values.rounds);
  const stableMs = Number(values['stable-ms']);
  installWriteCounting();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-enqueue-'));
  const sink = await startSinkProcess();
  try {
    const client = new S3Client({ endpoint: sink.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    await client.send(new CreateBucketCommand({ Bucket: 'hoist-enqueue' }));
    client.destroy();
    const dir = path.join(workDir, 'render_v12');
    makeSequence(dir, files, size);
    const results: Record<'upload' | 'watch', Figures[]> = { upload: [], watch: [] };
    for (let r = 0; r < rounds; r++) {
      const order: Array<'upload' | 'watch'> = r % 2 === 0 ? ['upload', 'watch'] : ['watch', 'upload'];
      for (const way of order) {
        const f = await measure(workDir, sink.url, (engine, destId) => (way === 'upload' ? uploadDir(engine, destId, dir) : watchDir(engine, destId, dir, files, stableMs)), files);
        results[way].push(f);
        console.error(`bench: round ${r + 1} ${way}: ${fixed(f.wallS, 2)} s wall, ${fixed(f.cpuS, 2)} CPU s, ${f.transactions} transactions, ${f.statements} writes`);
      }
    }
    const row = (label: string, fs: Figures[]) => {
      const wall = median(fs.map((f) => f.wallS));
      return [label, fixed(files / wall, 0), fixed(wall, 2), fixed(median(fs.map((f) => f.cpuS)), 2), String(median(fs.map((f) => f.transactions))), String(median(fs.map((f) => f.statements)))];
    };
    console.log(`Queuing ${files.toLocaleString('en')} files of ${size} bytes, ${rounds} rounds, medians; ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`(watch: from watcher.start() until every file is queued, including the ${stableMs} ms stable interval)`);
    console.log(
      table(
        ['way', 'files/s', 'wall s', 'CPU s', 'transactions', 'write statements'],
        [row('hoist upload DIR (Engine.enqueue)', results.upload), row('watched folder', results.watch)],
      ),
    );
    return 0;
  } finally {
    if (sink.child.connected) sink.child.disconnect();
    sink.child.kill();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The sink takes any credentials.
process.env.AWS_ACCESS_KEY_ID = 'bench';
process.env.AWS_SECRET_ACCESS_KEY = 'bench';
process.exitCode = await main(process.argv.slice(2));
