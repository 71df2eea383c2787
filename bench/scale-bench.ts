// The scale benchmark: a job table of 100,000 jobs (how long the queries the UI and the scheduler make
// take), and a watched tree of 100,000 files scanned at start while an upload runs (how long the scan
// takes, and how long the event loop is held up meanwhile).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { JobSortKey } from '../shared/contract.js';
import type { Destination, DestinationInput } from '../shared/types.js';
import { Engine } from '../src-main/engine/engine.js';
import type { JobStore } from '../src-main/engine/store/job-store.js';
import { FolderWatcher } from '../src-main/engine/folders/folder-watcher.js';
import { benchDestination } from './destination.js';
import { MiB } from './process-stats.js';
import { fixed, median, table } from './report.js';
import { startSinkProcess, writeRandomFile } from './fixtures.js';

export interface ScaleOptions {
  jobs: number;
  /** Files of the tree scanned at a restart (all known). */
  files: number;
  /** Files of the tree seen for the first time (each queued and uploaded). */
  newFiles: number;
  /** Skip the watched-tree part (it needs the most time: creating the files). */
  skipWatch: boolean;
}

const USAGE = 'usage: node build/bench/scale.js [--jobs 100000] [--files 100000] [--new-files 5000] [--skip-watch]';

export function parseScaleOptions(argv: string[]): ScaleOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: 'string', default: '100000' },
      files: { type: 'string', default: '100000' },
      'new-files': { type: 'string', default: '5000' },
      'skip-watch': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const count = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > 10_000_000) throw new Error(`--${name} must be a whole number from 1 to 10000000`);
    return n;
  };
  return { jobs: count('jobs', values.jobs), files: count('files', values.files), newFiles: count('new-files', values['new-files']), skipWatch: values['skip-watch'] };
}

function destinationInput(name: string, endpoint: string, bucket: string): DestinationInput {
  return benchDestination(name, endpoint, bucket, { partSize: 64 * MiB, concurrency: 4 });
}

interface Timing {
  what: string;
  runs: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

function time(what: string, runs: number, fn: (i: number) => void): Timing {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn(i);
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { what, runs, medianMs: median(ms), p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!, maxMs: sorted.at(-1)! };
}

/** Fills the table as a busy ingest machine's would look: most jobs done, some queued, a few failed, one big upload under way. */
function fillJobTable(store: JobStore, dest: Destination, count: number): { seconds: number; parts: number; runningJobId: number } {
  const t0 = performance.now();
  let parts = 0;
  const insertBatch = store.db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      // One job in ten is a camera original of 100 parts; the rest are sidecars and proxies sent whole.
      const big = i % 10 === 7;
      const partCount = big ? 100 : 1;
      const partSize = big ? 64 * MiB : 300_000;
      const planned = Array.from({ length: partCount }, (_, k) => ({ partNumber: k + 1, offset: k * partSize, length: partSize }));
      parts += partCount;
      store.insertJob(
        {
          destinationId: dest.id,
          sourcePath: `/media/card${Math.floor(i / 1000)}/clip${i}.${big ? 'mov' : 'xml'}`,
          bucket: dest.bucket,
          key: `shoot/card${Math.floor(i / 1000)}/clip${i}.${big ? 'mov' : 'xml'}`,
          size: partCount * partSize,
          mtimeMs: 1_700_000_000_000 + i,
          inode: String(1000 + i),
          contentType: big ? 'video/quicktime' : 'application/xml',
          mode: big ? 'multipart' : 'single',
          partSize,
          priority: 'normal',
          checksumAlgorithm: null,
        },
        planned,
      );
    }
  });
  for (let at = 0; at < count; at += 1000) insertBatch(at, Math.min(count, at + 1000));
  // 60% done (with their parts), 1% failed, the rest queued; one big job running, half sent.
  const db = store.db;
  db.prepare(`UPDATE jobs SET state = 'done', finished_at = updated_at, etag = 'e' WHERE id % 10 < 6`).run();
  db.prepare(`UPDATE parts SET state = 'done', etag = 'e', md5_hex = 'd41d8cd98f00b204e9800998ecf8427e' WHERE job_id IN (SELECT id FROM jobs WHERE state = 'done')`).run();
  db.prepare(`UPDATE jobs SET state = 'failed', error_code = 'net.unreachable', error_message = 'x' WHERE id % 100 = 7`).run();
  const runningJobId = (db.prepare(`SELECT id FROM jobs WHERE state = 'queued' AND mode = 'multipart' ORDER BY id DESC LIMIT 1`).get() as { id: number }).id;
  db.prepare(`UPDATE jobs SET state = 'running', upload_id = 'u' WHERE id = ?`).run(runningJobId);
  db.prepare(`UPDATE parts SET state = 'done', etag = 'e', md5_hex = 'd41d8cd98f00b204e9800998ecf8427e' WHERE job_id = ? AND part_number <= 50`).run(runningJobId);
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { seconds: (performance.now() - t0) / 1000, parts, runningJobId };
}

async function jobTableFigures(workDir: string, jobs: number, endpoint: string): Promise<string[]> {
  const dbPath = path.join(workDir, 'scale.db');
  const engine = new Engine({ dbPath });
  const lines: string[] = [];
  try {
    const dest = engine.upsertDestination(destinationInput('scale', endpoint, 'hoist-scale'));
    const store = engine.store;
    const filled = fillJobTable(store, dest, jobs);
    const dbBytes = fs.statSync(dbPath).size;
    lines.push(`Job table: ${jobs.toLocaleString('en')} jobs, ${filled.parts.toLocaleString('en')} parts inserted in ${fixed(filled.seconds, 1)} s (${fixed(jobs / filled.seconds, 0)} jobs/s, 1,000 per transaction); database ${fixed(dbBytes / MiB, 0)} MiB`);
    const runsFor = 200;
    const someJob = Math.max(1, Math.floor(jobs / 2) - runsFor);
    const newFile = path.join(workDir, 'new-clip.mov');
    fs.writeFileSync(newFile, randomBytes(1024));
    let nextPart = 51;
    // The Queue screen's pages: each sort (in the direction it opens with), whole table and one state.
    const sorts: Array<[JobSortKey, boolean]> = [['id', false], ['state', false], ['size', true], ['progress', true], ['createdAt', true]];
    const timings: Timing[] = [
      ...sorts.flatMap(([sort, descending]) => [
        time(`list a page of 50 by ${sort}${descending ? ' (descending)' : ''}`, 50, () => store.queryJobs({ limit: 50, sort, descending })),
        time(`list a page of 50 queued jobs by ${sort}${descending ? ' (descending)' : ''}`, 50, () => store.queryJobs({ states: ['queued'], limit: 50, sort, descending })),
      ]),
      time(`list a page deep in the table (offset ${Math.floor(jobs / 2).toLocaleString('en')})`, 50, () => store.queryJobs({ limit: 50, offset: Math.floor(jobs / 2) })),
      time('totals (jobs per state, bytes of unfinished jobs)', 50, () => store.totals()),
      time('pick the next queued jobs (16, ids)', runsFor, () => store.nextQueuedJobRefs(16)),
      time('pick the next parts of a running job (4)', runsFor, () => store.nextPendingParts(filled.runningJobId, 4)),
      time('record a finished part (sending, then done)', 50, () => {
        const n = nextPart++;
        store.markPartSending(filled.runningJobId, n);
        store.markPartDone(filled.runningJobId, n, 'e', 'd41d8cd98f00b204e9800998ecf8427e', null);
      }),
      time('get one job', runsFor, (i) => store.getJob(someJob + i)),
    ];
    const enqueueMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await engine.enqueue([newFile], { destination: dest, key: `new/clip-${i}.mov` });
      enqueueMs.push(performance.now() - t0);
    }
    timings.push({ what: 'enqueue one more file (stat, plan, duplicate check, insert)', runs: 20, medianMs: median(enqueueMs), p99Ms: Math.max(...enqueueMs), maxMs: Math.max(...enqueueMs) });
    lines.push(
      table(
        ['operation', 'runs', 'median ms', 'p99 ms', 'max ms'],
        timings.map((t) => [t.what, String(t.runs), fixed(t.medianMs, 3), fixed(t.p99Ms, 3), fixed(t.maxMs, 3)]),
      ),
    );
  } finally {
    await engine.close();
  }
  return lines;
}

/** 100 files per folder, in folders of folders, as a card dump or a render farm's output looks. */
async function makeTree(root: string, files: number): Promise<number> {
  const t0 = performance.now();
  const body = randomBytes(64);
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `reel${Math.floor(i / 10_000)}`, `shot${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    // Distinct content; one size, and mtimes shared by 100 files at a time, as a frame sequence on a
    // card whose file system keeps coarse times: many files look alike until their bytes are read.
    body.writeUInt32BE(i, 0);
    const file = path.join(dir, `frame${String(i).padStart(7, '0')}.dpx`);
    fs.writeFileSync(file, body);
    const mtime = new Date(1_700_000_000_000 + Math.floor(i / 100) * 2000);
    fs.utimesSync(file, mtime, mtime);
  }
  return (performance.now() - t0) / 1000;
}

interface ScanFigures {
  startReturnedS: number;
  /** Until every file was decided: queued (new files) or confirmed unchanged (known ones). */
  doneS: number | null;
  decided: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  worstTimerLateMs: number;
  bigAloneMBps: number;
  bigDuringMBps: number;
  uploadedMeanwhile: number;
}

/**
 * Starts a watcher on `root` while a 2 GiB upload runs, and measures until every file is decided:
 * `known` files were all recorded as uploaded before (a restart), else each is new and gets queued.
 */
async function scanScenario(root: string, files: number, known: boolean, workDir: string, bigFile: string, endpoint: string, progress: (line: string) => void): Promise<ScanFigures> {
  const dbDir = fs.mkdtempSync(path.join(workDir, known ? 'restart-' : 'new-'));
  const engine = new Engine({ dbPath: path.join(dbDir, 'watch.db') });
  const watcher = new FolderWatcher(engine, { defaultStableMs: 3000 });
  try {
    const dest = engine.upsertDestination(destinationInput('scale-sink', endpoint, 'hoist-scale'));
    const folder = await watcher.addFolder({ path: root, destinationId: dest.id });
    if (known) recordTreeAsUploaded(watcher, folder.id, dest.id, root);
    const [bigJob] = await engine.enqueue([bigFile], { destination: dest, key: `while-scanning/${path.basename(dbDir)}.mov` });
    engine.start();
    const bigSent = () => engine.progress().find((p) => p.jobId === bigJob!.id)?.bytesSent ?? engine.getJob(bigJob!.id)!.bytesDone;
    // The big upload alone first, for its rate without the scan beside it.
    await new Promise((r) => setTimeout(r, 1000));
    const aloneFrom = bigSent();
    await new Promise((r) => setTimeout(r, 3000));
    const bigAloneMBps = (bigSent() - aloneFrom) / 3 / 1e6;
    let queued = 0;
    watcher.on('file', (a) => void (a.action === 'queued' && queued++));
    let bigDoneAt = 0;
    engine.on('job', (j) => {
      if (j.id === bigJob!.id && j.state === 'done' && !bigDoneAt) bigDoneAt = performance.now();
    });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    // The UI's heartbeat: how late a 100 ms timer fires while the scan runs.
    let worstTimerLateMs = 0;
    let expected = performance.now() + 100;
    const heartbeat = setInterval(() => {
      worstTimerLateMs = Math.max(worstTimerLateMs, performance.now() - expected);
      expected = performance.now() + 100;
    }, 100);
    const bigBefore = bigSent();
    const t0 = performance.now();
    await watcher.start();
    const startReturnedS = (performance.now() - t0) / 1000;
    const finished = () => (known ? watcher.idle : queued >= files);
    const deadline = Date.now() + 20 * 60_000;
    let lastReport = Date.now();
    while (!finished() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      if (Date.now() - lastReport >= 15_000) {
        lastReport = Date.now();
        progress(`bench: ${known ? 'restart' : 'new tree'}: ${fixed((performance.now() - t0) / 1000, 0)} s, ${queued.toLocaleString('en')} queued`);
      }
    }
    const end = performance.now();
    clearInterval(heartbeat);
    delay.disable();
    // The big upload's rate while both ran: up to the end of the scan or of the upload, whichever came first.
    const bigEnd = bigDoneAt && bigDoneAt < end ? bigDoneAt : end;
    const bigBytes = bigEnd === bigDoneAt ? engine.getJob(bigJob!.id)!.size : bigSent();
    return {
      startReturnedS,
      doneS: finished() ? (end - t0) / 1000 : null,
      decided: known ? files : queued,
      loopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      worstTimerLateMs,
      bigAloneMBps,
      bigDuringMBps: (bigBytes - bigBefore) / ((bigEnd - t0) / 1000) / 1e6,
      uploadedMeanwhile: (engine.store.totals().byState.done ?? 0) - (bigDoneAt ? 1 : 0),
    };
  } finally {
    await watcher.stop();
    await engine.close();
  }
}

/** As if a previous run had uploaded every file of the tree: each has its record, unchanged since. */
function recordTreeAsUploaded(watcher: FolderWatcher, folderId: number, destinationId: number, root: string): void {
  const record = watcher.folders.db.transaction((entries: string[]) => {
    for (const rel of entries) {
      const st = fs.statSync(path.join(root, rel), { bigint: true });
      const relPath = rel.split(path.sep).join('/');
      watcher.folders.recordFile({ folderId, destinationId, relPath, key: relPath, size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString(), how: 'adopted', jobId: null, etag: '"d41d8cd98f00b204e9800998ecf8427e"' });
    }
  });
  record((fs.readdirSync(root, { recursive: true }) as string[]).filter((rel) => rel.endsWith('.dpx')));
}

async function watchFigures(workDir: string, files: number, newFiles: number, endpoint: string, progress: (line: string) => void): Promise<string[]> {
  const known = path.join(workDir, 'known');
  const fresh = path.join(workDir, 'fresh');
  const madeKnown = await makeTree(known, files);
  const madeFresh = await makeTree(fresh, newFiles);
  progress(`bench: made ${files.toLocaleString('en')} + ${newFiles.toLocaleString('en')} files in ${fixed(madeKnown + madeFresh, 1)} s`);
  const bigFile = path.join(workDir, 'big.mov');
  await writeRandomFile(bigFile, 2048 * MiB);
  const restart = await scanScenario(known, files, true, workDir, bigFile, endpoint, progress);
  const first = await scanScenario(fresh, newFiles, false, workDir, bigFile, endpoint, progress);
  const both = (f: (s: ScanFigures) => string) => [f(restart), f(first)];
  return [
    `Watched trees of 64-byte files, 100 per folder (100 at a time share one mtime, as a frame sequence may); stable interval 3 s;`,
    `a 2 GiB upload to the sink runs throughout; the new tree's files are uploaded (to the sink) as they are queued.`,
    table(
      ['figure', `restart: ${files.toLocaleString('en')} known files`, `first sight: ${newFiles.toLocaleString('en')} new files`],
      [
        ['watcher.start() returned after (s)', ...both((s) => fixed(s.startReturnedS, 2))],
        ['every file decided after (s)', ...both((s) => (s.doneS === null ? 'not within 20 min' : fixed(s.doneS, 1)))],
        ['files decided per second', ...both((s) => fixed(s.doneS ? s.decided / s.doneS : null, 0))],
        ['event loop delay p50 / p99 / max (ms)', ...both((s) => `${fixed(s.loopDelayMs.p50, 1)} / ${fixed(s.loopDelayMs.p99, 1)} / ${fixed(s.loopDelayMs.max, 0)}`)],
        ['a 100 ms timer fired late by at most (ms)', ...both((s) => fixed(s.worstTimerLateMs, 0))],
        ['2 GiB upload: MB/s before, during the scan', ...both((s) => `${fixed(s.bigAloneMBps, 0)}, ${fixed(s.bigDuringMBps, 0)}`)],
        ['small files uploaded meanwhile', ...both((s) => String(s.uploadedMeanwhile))],
      ],
    ),
  ];
}

export async function runScaleBench(options: ScaleOptions, log: (line: string) => void = console.log): Promise<void> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-scale-'));
  const sink = await startSinkProcess();
  try {
    const client = new S3Client({ endpoint: sink.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    await client.send(new CreateBucketCommand({ Bucket: 'hoist-scale' }));
    client.destroy();
    log(`Scale benchmark, ${new Date().toISOString()}; ${os.cpus().length} cores, Node ${process.version}; database and files in ${os.tmpdir()}`);
    log('');
    for (const line of await jobTableFigures(workDir, options.jobs, sink.url)) log(line);
    if (!options.skipWatch) {
      log('');
      for (const line of await watchFigures(workDir, options.files, options.newFiles, sink.url, (line) => console.error(line))) log(line);
    }
  } finally {
    if (sink.child.connected) sink.child.disconnect();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  let options: ScaleOptions;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    options = parseScaleOptions(argv);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  await runScaleBench(options);
  return 0;
}
