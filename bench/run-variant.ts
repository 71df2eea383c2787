// Child process: uploads the file once with one variant and reports its wall time, CPU, peak RSS and
// UploadPart count to the parent over IPC. One process per variant keeps RSS and CPU apart.
import fs from 'node:fs';
import path from 'node:path';
// The SDK and lib-storage are imported by the lib-storage variants only (below): a Hoist run that
// imported them here paid 90-124 ms CPU (measured 2026-12-05, after the engine's import) for a
// package Hoist never loads (lib-storage) and an ESM import of one it requires (engine/cjs.ts).
import type { S3Client as S3ClientType } from '@aws-sdk/client-s3';
import type { Engine } from '../src-main/engine/engine.js';
import type { Destination, DestinationInput } from '../shared/types.js';
import { benchDestination } from './destination.js';
import type { HoistSettings } from './peers.js';
import { RssSampler, peakRssBytes } from './process-stats.js';

export type VariantName = 'hoist' | 'lib-storage-defaults' | 'lib-storage-same';

export interface VariantRequest {
  variant: VariantName;
  /** A file (uploaded to `key`) or a folder (each file under `key` as a prefix: `key/NAME`). */
  file: string;
  /** Bytes to send: the file's size, or the folder's total. */
  size: number;
  endpoint: string;
  bucket: string;
  key: string;
  partSize: number;
  concurrency: number;
  workDir: string;
  /** Hoist only: automatic concurrency within these bounds (`hoist tune`). */
  tuning?: { min: number; max: number };
  /** Hoist only: upload under a global bandwidth limit for `seconds`, then stop (the object is not completed). */
  pacing?: PacingRequest;
  /** Hoist only: the destination's `integrity` mode (issue 12), where the engine has that setting. */
  integrity?: string;
  /** Hoist only: these settings instead of the engine's defaults (each one absent stays at its default). */
  settings?: HoistSettings;
  /** Hoist only: settings left at the engine's defaults (shared/limits.ts) rather than partSize and concurrency. */
  engineDefaults?: boolean;
  /** lib-storage: the SDK's default checksums (CRC32 on every part) rather than none (WHEN_REQUIRED). */
  sdkChecksums?: boolean;
  /** Write the result here as JSON (the variant then runs under a wrapper that measures its process tree) instead of IPC. */
  resultFile?: string;
}

export interface PacingRequest {
  bytesPerSecond: number;
  /** Changed to this halfway through, while the upload runs. */
  thenBytesPerSecond: number | null;
  seconds: number;
}

/** Bytes on the wire so far, once a second from the first byte. */
export interface PacingSample {
  atSeconds: number;
  bytes: number;
}

export interface VariantResult {
  variant: VariantName;
  wallSeconds: number;
  cpuSeconds: number;
  /** Bytes read through read calls while it ran (/proc/self/io rchar): per byte of the file, how often it was read. */
  rcharBytes?: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  /** UploadPart requests sent, retries included (a single-PUT upload counts its PutObject). */
  uploadPartRequests: number;
  /** The part size the variant actually used. */
  partSize: number;
  /** Parts in flight: the setting, or with tuning where it settled. */
  concurrency: number;
  /** With tuning: the tuner's decisions, as "from->to reason". */
  tuningTrail?: string[];
  pacingSamples?: PacingSample[];
  /** The measured interval on the monotonic clock, in µs (the clock of V8's CPU profiles). */
  clockUs: { start: number; stop: number };
}

const REGION = 'us-east-1';
/** lib-storage's own defaults, for the report (the variant itself passes no options). */
const LIB_STORAGE_DEFAULT_PART_SIZE = 5 * 1024 * 1024;
const LIB_STORAGE_DEFAULT_QUEUE_SIZE = 4;

interface UploadOutcome {
  uploadPartRequests: number;
  partSize: number;
  concurrency: number;
  tuningTrail?: string[];
  pacingSamples?: PacingSample[];
}

/** Wall and CPU time between start() and stop(); process.cpuUsage() includes worker threads. */
class Stopwatch {
  rssBeforeBytes = 0;
  wallSeconds = 0;
  cpuSeconds = 0;
  clockUs = { start: 0, stop: 0 };
  /** Bytes read through read calls (/proc/self/io rchar, worker threads included; sockets too, the sink's answers are small). */
  rcharBytes = 0;
  private t0 = 0;
  private cpu0 = process.cpuUsage();
  private rchar0 = 0;

  start(): void {
    this.rssBeforeBytes = process.memoryUsage.rss();
    this.rchar0 = rchar();
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
    this.clockUs.start = Number(process.hrtime.bigint() / 1000n);
  }

  stop(): void {
    this.wallSeconds = (performance.now() - this.t0) / 1000;
    this.clockUs.stop = Number(process.hrtime.bigint() / 1000n);
    const cpu = process.cpuUsage(this.cpu0);
    this.cpuSeconds = (cpu.user + cpu.system) / 1e6;
    this.rcharBytes = rchar() - this.rchar0;
  }
}

function rchar(): number {
  return Number(/^rchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
}

function withSettings(input: DestinationInput, s: HoistSettings | undefined): DestinationInput {
  if (!s) return input;
  return {
    ...input,
    ...(s.partSize !== undefined ? { partSize: s.partSize } : {}),
    ...(s.concurrency !== undefined ? { concurrency: s.concurrency } : {}),
    ...(s.singlePutThreshold !== undefined ? { singlePutThreshold: s.singlePutThreshold } : {}),
  };
}

/** Files of a folder, sorted, with their keys under `prefix`. */
function folderFiles(dir: string, prefix: string): Array<{ file: string; key: string }> {
  return fs.readdirSync(dir).sort().map((name) => ({ file: path.join(dir, name), key: `${prefix}/${name}` }));
}

async function uploadWithHoist(r: VariantRequest, watch: Stopwatch): Promise<UploadOutcome> {
  // As `hoist upload` does (bin/hoist.js, cli/early-start.ts): the first part-worker thread starts
  // before the engine's modules load, where the build has that (a build before it: loaded in turn).
  const early = await import('../src-main/cli/early-start.js').catch(() => null);
  early?.startEarly(['node', 'hoist', 'upload']);
  const { Engine, SETTLED_STATES } = await import('../src-main/engine/engine.js');
  const engine = new Engine({ dbPath: path.join(r.workDir, `${r.key.replace(/\W/g, '_')}.db`), scheduler: {}, ...(r.settings?.workers ? { maxWorkers: r.settings.workers } : {}) });
  try {
    const input = withSettings(r.engineDefaults ? benchDestination('bench', r.endpoint, r.bucket) : benchDestination('bench', r.endpoint, r.bucket, r), r.settings);
    const destination = engine.upsertDestination((r.integrity ? { ...input, integrity: r.integrity } : input) as DestinationInput);
    if (r.integrity && (destination as unknown as Record<string, unknown>).integrity !== r.integrity) {
      throw new Error(`this engine has no integrity setting (or refused "${r.integrity}"): the destination came back without it`);
    }
    if (r.tuning) engine.pace.setConcurrencyBounds(destination.id, r.tuning);
    if (r.pacing) return await pacedUpload(engine, destination, r, r.pacing, watch);
    const isFolder = fs.statSync(r.file).isDirectory();
    // Job events stop the clock at once; waitFor's 250 ms poll would add up to a quarter second, and
    // its query over thousands of jobs would be CPU charged to Hoist that a user's run does not spend.
    // A count of the jobs settled, not a look at every job per event: over 2,000 files that look cost
    // Hoist's process 0.4 ms of CPU per file (n² map lookups), which no other client's run pays.
    const settledIds = new Set<number>();
    let expected: number[] | null = null;
    let settle: () => void = () => undefined;
    const allSettled = new Promise<void>((resolve) => (settle = resolve));
    const check = () => {
      if (expected && settledIds.size >= expected.length && expected.every((id) => settledIds.has(id))) settle();
    };
    engine.on('job', (j) => {
      if (SETTLED_STATES.includes(j.state)) settledIds.add(j.id);
      else settledIds.delete(j.id);
      if (SETTLED_STATES.includes(j.state)) check();
    });
    watch.start();
    const jobs = isFolder ? await engine.enqueue([r.file], { destination, prefix: `${r.key}/` }) : await engine.enqueue([r.file], { destination, key: r.key });
    expected = jobs.map((j) => j.id);
    const lease = engine.start();
    if (!lease.ok) throw new Error(`another process runs this queue (pid ${lease.pid})`);
    check();
    // A safety net, slow on purpose: events should settle it first (each of its looks reads every job
    // row, 50 ms or more for 2,000 jobs, charged to Hoist's run).
    await Promise.race([allSettled, engine.waitFor(expected, undefined, 30_000)]);
    watch.stop();
    const settled = engine.waitFor(expected, undefined, 0);
    const failed = (await settled).filter((j) => j.state !== 'done');
    if (failed.length > 0) {
      const first = failed[0]!;
      const events = engine.events(first.id).map((e) => `${e.kind}: ${e.message}`).join('\n  ');
      throw new Error(`${failed.length} Hoist job(s) did not end done; the first ${first.key}: ${first.state} ${JSON.stringify(first.error)}\n  ${events}`);
    }
    const parts = jobs.flatMap((j) => engine.parts(j.id));
    const tuned = engine.pace.concurrencyOf(destination.id);
    return {
      uploadPartRequests: parts.reduce((n, p) => n + p.sends, 0),
      partSize: engine.getJob(jobs[0]!.id)!.partSize,
      concurrency: r.tuning ? (tuned.limit ?? destination.concurrency) : destination.concurrency,
      ...(r.tuning ? { tuningTrail: tuned.decisions.map((d) => `${d.from}->${d.to} ${d.reason}${d.measuredBytesPerSecond ? ` @${(d.measuredBytesPerSecond / 1e6).toFixed(0)} MB/s` : ''}`) } : {}),
    };
  } finally {
    await engine.close();
  }
}

/** Uploads under a bandwidth limit for a while, sampling bytes on the wire each second, then cancels (and aborts) the upload. */
async function pacedUpload(engine: Engine, destination: Destination, r: VariantRequest, p: PacingRequest, watch: Stopwatch): Promise<UploadOutcome> {
  engine.pace.setBandwidthLimit({ destinationId: null, bytesPerSecond: p.bytesPerSecond });
  const [job] = await engine.enqueue([r.file], { destination, key: r.key });
  const lease = engine.start();
  if (!lease.ok) throw new Error(`another process runs this queue (pid ${lease.pid})`);
  const sent = () => engine.progress().find((x) => x.jobId === job!.id)?.bytesSent ?? 0;
  while (sent() === 0) await new Promise((res) => setTimeout(res, 20));
  watch.start();
  const t0 = performance.now();
  const samples: PacingSample[] = [{ atSeconds: 0, bytes: sent() }];
  for (let second = 1; second <= p.seconds; second++) {
    await new Promise((res) => setTimeout(res, t0 + second * 1000 - performance.now()));
    samples.push({ atSeconds: (performance.now() - t0) / 1000, bytes: sent() });
    if (p.thenBytesPerSecond !== null && second === Math.floor(p.seconds / 2)) engine.pace.setBandwidthLimit({ destinationId: null, bytesPerSecond: p.thenBytesPerSecond });
  }
  watch.stop();
  await engine.cancel(job!.id);
  return { uploadPartRequests: engine.parts(job!.id).reduce((n, x) => n + x.sends, 0), partSize: engine.getJob(job!.id)!.partSize, concurrency: destination.concurrency, pacingSamples: samples };
}

async function uploadWithLibStorage(r: VariantRequest, sameSettings: boolean, watch: Stopwatch): Promise<UploadOutcome> {
  const [{ S3Client }, { Upload }] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
  const client: S3ClientType = new S3Client({ endpoint: r.endpoint, region: REGION, forcePathStyle: true, ...(r.sdkChecksums ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' as const }) });
  let uploadPartRequests = 0;
  // The deserialize step runs once per HTTP attempt, so retries are counted too.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UploadPartCommand' || context.commandName === 'PutObjectCommand') uploadPartRequests++;
      return next(args);
    },
    { step: 'deserialize', name: 'benchCountUploadParts' },
  );
  const one = (file: string, key: string) =>
    new Upload({
      client,
      params: { Bucket: r.bucket, Key: key, Body: fs.createReadStream(file) },
      ...(sameSettings ? { partSize: r.partSize, queueSize: r.concurrency } : {}),
    }).done();
  try {
    watch.start();
    if (fs.statSync(r.file).isDirectory()) {
      // What a script over lib-storage would do for a folder: a few files at a time (its queueSize, 4).
      const files = folderFiles(r.file, r.key);
      let next = 0;
      const lane = async () => {
        while (next < files.length) {
          const f = files[next++]!;
          await one(f.file, f.key);
        }
      };
      await Promise.all(Array.from({ length: LIB_STORAGE_DEFAULT_QUEUE_SIZE }, lane));
    } else {
      await one(r.file, r.key);
    }
    watch.stop();
    return {
      uploadPartRequests,
      partSize: sameSettings ? r.partSize : LIB_STORAGE_DEFAULT_PART_SIZE,
      concurrency: sameSettings ? r.concurrency : LIB_STORAGE_DEFAULT_QUEUE_SIZE,
    };
  } finally {
    client.destroy();
  }
}

async function measure(r: VariantRequest): Promise<VariantResult> {
  const sampler = new RssSampler();
  const watch = new Stopwatch();
  const outcome = r.variant === 'hoist' ? await uploadWithHoist(r, watch) : await uploadWithLibStorage(r, r.variant === 'lib-storage-same', watch);
  sampler.stop();
  return {
    variant: r.variant,
    wallSeconds: watch.wallSeconds,
    cpuSeconds: watch.cpuSeconds,
    rcharBytes: watch.rcharBytes,
    rssBeforeBytes: watch.rssBeforeBytes,
    peakRssBytes: peakRssBytes(sampler),
    clockUs: watch.clockUs,
    ...outcome,
  };
}

const request = JSON.parse(process.argv[2] ?? '{}') as VariantRequest;
try {
  const result = await measure(request);
  if (request.resultFile) {
    fs.writeFileSync(request.resultFile, JSON.stringify(result));
    process.exit(0);
  }
  process.send!(result, () => process.exit(0));
} catch (err) {
  process.stderr.write(`bench: ${request.variant} failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
