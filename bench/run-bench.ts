// The upload benchmark: Hoist's engine against @aws-sdk/lib-storage, each variant in its own process.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { formatRate, parseRate } from '../src-main/engine/pacing/bandwidth.js';
import { pacingLines } from './pacing-report.js';
import { formatBytes, parseSize } from '../src-main/engine/upload/part-plan.js';
import { evictFromPageCache } from './cases.js';
import { startSinkProcess, writeRandomFile } from './fixtures.js';
import { GiB, MiB, totalCpuSeconds } from './process-stats.js';
import { radosgwPids, waitForRoom } from './radosgw.js';
import { MD5_BUFFER_BYTES, md5ThroughputMBps } from './md5-rate.js';
import { fixed, median, table } from './report.js';
import type { PacingRequest, VariantName, VariantRequest, VariantResult } from './run-variant.js';
import { runScaleBench, parseScaleOptions } from './scale-bench.js';

type Target = 'radosgw' | 'sink';

interface BenchOptions {
  /** File sizes, each uploaded by every variant (RSS flatness shows across them). */
  sizes: number[];
  partSize: number;
  concurrency: number;
  target: Target;
  runs: number;
  variants: VariantName[];
  /** Hoist with automatic concurrency within these bounds. */
  tuning: { min: number; max: number } | null;
  /** A separate run: Hoist under a bandwidth limit, measured over `seconds`. */
  pacing: PacingRequest | null;
  /** Evict the file from the page cache before each variant, so the first read of every byte comes from disk. */
  cold: boolean;
  /** Run the scale benchmark afterwards (npm run bench does). */
  thenScale: boolean;
}

interface Measured extends VariantResult {
  run: number;
  size: number;
  /** CPU the server processes used while this variant ran (null when they cannot be read). */
  serverCpuSeconds: number | null;
}

const VARIANTS: readonly VariantName[] = ['hoist', 'lib-storage-defaults', 'lib-storage-same'];
const LABEL: Record<VariantName, string> = {
  hoist: 'Hoist engine',
  'lib-storage-defaults': 'lib-storage, defaults',
  'lib-storage-same': 'lib-storage, same settings',
};
const REGION = 'us-east-1';

const USAGE = `usage: node build/bench/upload-bench.js --single [--size 1GiB | --sizes 1GiB,16GiB] [--part-size 64MiB] [--concurrency 4]
    [--target radosgw|sink] [--runs 1] [--variants hoist,lib-storage-defaults,lib-storage-same|none]
    [--auto-concurrency 1-16] [--limit 50MB/s [--limit-then 20MB/s] [--limit-seconds 60]] [--cold] [--then-scale]
  radosgw: the server at S3_ENDPOINT (npm run bench starts the local one);
  sink:    a discard-everything S3 endpoint started here (bench/s3-sink.ts), in its own process.
  --limit: Hoist alone under a global bandwidth limit (changed to --limit-then halfway), bytes on the wire per second.
  --cold:  the file is evicted from the page cache before each variant (first reads from disk).`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string' },
      sizes: { type: 'string' },
      'part-size': { type: 'string', default: '64MiB' },
      concurrency: { type: 'string', default: '4' },
      target: { type: 'string', default: 'radosgw' },
      runs: { type: 'string', default: '1' },
      variants: { type: 'string', default: VARIANTS.join(',') },
      'auto-concurrency': { type: 'string' },
      limit: { type: 'string' },
      'limit-then': { type: 'string' },
      'limit-seconds': { type: 'string', default: '60' },
      cold: { type: 'boolean', default: false },
      'then-scale': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const wholeNumber = (name: string, text: string, min: number, max: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const target = values.target;
  if (target !== 'radosgw' && target !== 'sink') throw new Error('--target must be radosgw or sink');
  if (values.size && values.sizes) throw new Error('use --size or --sizes, not both');
  const sizes = (values.sizes ?? values.size ?? '1GiB').split(',').map((t) => parseSize(t.trim()));
  const variants = values.variants === 'none' ? [] : values.variants.split(',').map((v) => v.trim());
  for (const v of variants) if (!VARIANTS.includes(v as VariantName)) throw new Error(`--variants: unknown variant "${v}" (${VARIANTS.join(', ')})`);
  let tuning: BenchOptions['tuning'] = null;
  if (values['auto-concurrency']) {
    const m = /^(\d+)-(\d+)$/.exec(values['auto-concurrency']);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2]) || Number(m[2]) > 64) throw new Error('--auto-concurrency must be MIN-MAX, 1 <= MIN <= MAX <= 64 (e.g. 1-16)');
    tuning = { min: Number(m[1]), max: Number(m[2]) };
  }
  const rate = (name: string, text: string) => {
    const r = parseRate(text);
    if (r === null) throw new Error(`--${name} needs a rate (e.g. 50MB/s)`);
    return r;
  };
  const options = {
    sizes,
    partSize: parseSize(values['part-size']),
    concurrency: wholeNumber('concurrency', values.concurrency, 1, 64),
    target,
    runs: wholeNumber('runs', values.runs, 1, 100),
    variants: VARIANTS.filter((v) => variants.includes(v)),
    tuning,
    pacing: values.limit
      ? { bytesPerSecond: rate('limit', values.limit), thenBytesPerSecond: values['limit-then'] ? rate('limit-then', values['limit-then']) : null, seconds: wholeNumber('limit-seconds', values['limit-seconds'], 4, 3600) }
      : null,
    cold: values.cold,
    thenScale: values['then-scale'],
  } satisfies BenchOptions;
  if (sizes.some((n) => n < 1)) throw new Error('--size must be at least one byte');
  if (options.partSize < 5 * MiB || options.partSize > 5 * GiB) throw new Error('--part-size must be from 5MiB to 5GiB');
  return options;
}

function adminClient(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: REGION, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** Generous: two minutes plus 2 MB/s. A stalled upload must not hang the bench for ever. */
function variantTimeoutMs(size: number): number {
  return 120_000 + size / 2e3;
}

/** Runs one variant in a fresh Node process and returns what it measured. */
async function runVariant(request: VariantRequest): Promise<VariantResult> {
  const child = fork(new URL('./run-variant.js', import.meta.url), [JSON.stringify(request)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let result: VariantResult | undefined;
  child.on('message', (m) => (result = m as VariantResult));
  const timeoutMs = variantTimeoutMs(request.size);
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(watchdog);
  if (timedOut) throw new Error(`${LABEL[request.variant]} did not finish within ${fixed(timeoutMs / 1000, 0)} s (stalled?); killed it`);
  if (code !== 0 || !result) throw new Error(`${LABEL[request.variant]} failed (${signal ? `killed by ${signal}` : `exit code ${code}`})`);
  return result;
}

async function verifyAndDelete(client: S3Client, bucket: string, key: string, size: number): Promise<void> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (head.ContentLength !== size) throw new Error(`${key}: HeadObject says ${head.ContentLength} bytes, the file has ${size}`);
  } finally {
    // memstore keeps everything in RAM: free it before the next variant.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}

/** Aborts uploads and deletes objects a failed variant left behind, then deletes the bucket. */
async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of uploads.Uploads ?? []) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! })).catch(() => undefined);
    }
    const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of objects.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! })).catch(() => undefined);
  } catch {
    // The sink cannot list; it holds no data anyway.
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

interface Summary {
  variant: VariantName;
  mbps: number;
  cpuPerGiB: number;
  peakRssMiB: number;
  runs: Measured[];
}

function summarize(results: Measured[], size: number, variants: readonly VariantName[]): Summary[] {
  return variants.map((variant) => {
    const runs = results.filter((r) => r.variant === variant && r.size === size);
    return {
      variant,
      mbps: median(runs.map((r) => size / 1e6 / r.wallSeconds)),
      cpuPerGiB: median(runs.map((r) => r.cpuSeconds / (size / GiB))),
      peakRssMiB: Math.max(...runs.map((r) => r.peakRssBytes / MiB)),
      runs,
    };
  });
}

function resultsTable(results: Measured[], withRun: boolean): string {
  const header = [withRun ? 'run: variant' : 'variant', 'size', 'part size', 'conc', 'wall s', 'MB/s', 'CPU s', 'CPU s/GiB', 'RSS before MiB', 'peak RSS MiB', 'UploadPart reqs', 'server CPU s/GiB'];
  const rows = results.map((r) => {
    const gib = r.size / GiB;
    return [
      withRun ? `${r.run}: ${LABEL[r.variant]}` : LABEL[r.variant],
      formatBytes(r.size),
      formatBytes(r.partSize),
      String(r.concurrency),
      fixed(r.wallSeconds, 2),
      fixed(r.size / 1e6 / r.wallSeconds, 0),
      fixed(r.cpuSeconds, 2),
      fixed(r.cpuSeconds / gib, 2),
      fixed(r.rssBeforeBytes / MiB, 0),
      fixed(r.peakRssBytes / MiB, 0),
      String(r.uploadPartRequests),
      fixed(r.serverCpuSeconds === null ? null : r.serverCpuSeconds / gib, 2),
    ];
  });
  return table(header, rows);
}

function summaryTable(summaries: Summary[], runs: number): string {
  const rows = summaries.map((s) => [LABEL[s.variant], fixed(s.mbps, 0), fixed(s.cpuPerGiB, 2), fixed(s.peakRssMiB, 0)]);
  return table(['variant', `MB/s (median of ${runs})`, 'CPU s/GiB (median)', 'peak RSS MiB (max)'], rows);
}

function ratioLines(summaries: Summary[]): string | null {
  const hoist = summaries.find((s) => s.variant === 'hoist');
  const others = summaries.filter((s) => s.variant !== 'hoist');
  if (!hoist || others.length === 0) return null;
  const rows = others.map((other) => [
    `Hoist / ${LABEL[other.variant]}`,
    `${fixed(hoist.mbps / other.mbps, 2)}x`,
    `${fixed(hoist.cpuPerGiB / other.cpuPerGiB, 2)}x`,
    `${fixed(hoist.peakRssMiB / other.peakRssMiB, 2)}x`,
  ]);
  return table(['ratio', 'throughput', 'CPU s/GiB', 'peak RSS'], rows) + '\n  (throughput above 1x: Hoist faster; CPU and RSS below 1x: Hoist cheaper)';
}

const RSS_TARGET_BYTES = 250e6;

/** Issue 6's targets, each with its figure and whether this run met it (on this machine, this target). */
function targetLines(summaries: Summary[], options: BenchOptions, flatness: number | null): string[] {
  const by = (v: VariantName) => summaries.find((s) => s.variant === v);
  const hoist = by('hoist');
  if (!hoist) return [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines: string[] = [];
  const defaults = by('lib-storage-defaults');
  const same = by('lib-storage-same');
  if (defaults) lines.push(`throughput >= 1.5x lib-storage at defaults: ${fixed(hoist.mbps / defaults.mbps, 2)}x, ${verdict(hoist.mbps >= 1.5 * defaults.mbps)}`);
  if (same) lines.push(`throughput >= lib-storage at the same settings: ${fixed(hoist.mbps / same.mbps, 2)}x, ${verdict(hoist.mbps >= same.mbps)}`);
  if (defaults) lines.push(`CPU per GiB <= lib-storage at defaults: ${fixed(hoist.cpuPerGiB, 2)} vs ${fixed(defaults.cpuPerGiB, 2)} s, ${verdict(hoist.cpuPerGiB <= defaults.cpuPerGiB)}`);
  if (same) lines.push(`CPU per GiB <= lib-storage at the same settings: ${fixed(hoist.cpuPerGiB, 2)} vs ${fixed(same.cpuPerGiB, 2)} s, ${verdict(hoist.cpuPerGiB <= same.cpuPerGiB)}`);
  const rssMB = (hoist.peakRssMiB * MiB) / 1e6;
  const inFlight = `${options.tuning ? `up to ${options.tuning.max}` : options.concurrency} parts of ${formatBytes(options.partSize)} in flight`;
  lines.push(`peak RSS < 250 MB (issue 6: with 16 parts of 64 MiB in flight): ${fixed(rssMB, 0)} MB with ${inFlight}, ${verdict(rssMB * 1e6 < RSS_TARGET_BYTES)}`);
  if (flatness !== null) lines.push(`peak RSS flat within 10% across sizes: ${flatness >= 0 ? '+' : ''}${fixed(100 * flatness, 1)}%, ${verdict(Math.abs(flatness) <= 0.1)}`);
  return lines;
}

/** Hoist's peak RSS at each size and its change from the smallest. */
function flatnessLines(results: Measured[], sizes: number[], variants: readonly VariantName[]): { lines: string[]; hoistChange: number | null } {
  if (sizes.length < 2) return { lines: [], hoistChange: null };
  const sorted = [...sizes].sort((a, b) => a - b);
  const peak = (v: VariantName, size: number) => Math.max(...results.filter((r) => r.variant === v && r.size === size).map((r) => r.peakRssBytes / MiB));
  const rows = variants.map((v) => {
    const base = peak(v, sorted[0]!);
    const last = peak(v, sorted.at(-1)!);
    return [LABEL[v], ...sorted.map((size) => fixed(peak(v, size), 0)), `${last >= base ? '+' : ''}${fixed((100 * (last - base)) / base, 1)}%`];
  });
  const hoistBase = variants.includes('hoist') ? peak('hoist', sorted[0]!) : null;
  return {
    lines: ['Peak RSS (MiB) by file size', table(['variant', ...sorted.map((size) => formatBytes(size)), 'change'], rows)],
    hoistChange: hoistBase === null ? null : (peak('hoist', sorted.at(-1)!) - hoistBase) / hoistBase,
  };
}

interface Endpoint {
  url: string;
  serverPids: number[];
}

async function runUploads(options: BenchOptions, workDir: string, endpoint: Endpoint, client: S3Client, bucket: string): Promise<Measured[]> {
  const results: Measured[] = [];
  for (const size of options.sizes) {
    const file = path.join(workDir, `source-${size}.bin`);
    const t0 = performance.now();
    await writeRandomFile(file, size);
    console.log(`bench: wrote ${formatBytes(size)} of random data to ${file} in ${fixed((performance.now() - t0) / 1000, 1)} s`);
    try {
      for (let run = 1; run <= options.runs; run++) {
        for (const variant of options.variants) {
          const key = `${variant}-${size}-${run}`;
          if (options.target === 'radosgw') await waitForRoom(size, (line) => console.log(line));
          if (options.cold) evictFromPageCache([file]);
          process.stdout.write(`bench: ${formatBytes(size)}, run ${run}/${options.runs}: ${LABEL[variant]} ... `);
          const serverCpuBefore = totalCpuSeconds(endpoint.serverPids);
          const result = await runVariant({
            variant, file, size, endpoint: endpoint.url, bucket, key, partSize: options.partSize, concurrency: options.concurrency, workDir,
            ...(variant === 'hoist' && options.tuning ? { tuning: options.tuning } : {}),
          });
          const serverCpuAfter = totalCpuSeconds(endpoint.serverPids);
          await verifyAndDelete(client, bucket, key, size);
          const serverCpuSeconds = serverCpuBefore === null || serverCpuAfter === null ? null : serverCpuAfter - serverCpuBefore;
          results.push({ ...result, run, size, serverCpuSeconds });
          console.log(`${fixed(size / 1e6 / result.wallSeconds, 0)} MB/s, verified`);
          if (result.tuningTrail) console.log(`bench: automatic concurrency settled at ${result.concurrency}: ${result.tuningTrail.join(', ')}`);
        }
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
  }
  return results;
}

async function runPacing(options: BenchOptions, p: PacingRequest, workDir: string, endpoint: Endpoint, bucket: string): Promise<string[]> {
  // Enough bytes for the whole measurement at the higher rate, and a margin.
  const size = Math.ceil((Math.max(p.bytesPerSecond, p.thenBytesPerSecond ?? 0) * (p.seconds + 10)) / MiB) * MiB;
  const file = path.join(workDir, 'paced.bin');
  await writeRandomFile(file, size);
  try {
    if (options.target === 'radosgw') await waitForRoom(size, (line) => console.log(line));
    console.log(`bench: bandwidth limit ${formatRate(p.bytesPerSecond)} for ${p.seconds} s ...`);
    const result = await runVariant({ variant: 'hoist', file, size, endpoint: endpoint.url, bucket, key: 'paced', partSize: options.partSize, concurrency: options.concurrency, workDir, pacing: p });
    return pacingLines(result.pacingSamples ?? [], p);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    options = parseOptions(argv);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.target === 'radosgw' && !process.env.S3_ENDPOINT) {
    console.error('bench: S3_ENDPOINT is not set; run `npm run bench` (it starts the local radosgw) or pass --target sink.');
    return 2;
  }
  // The sink checks no signatures, but the SDK wants credentials to sign with.
  if (options.target === 'sink' || options.thenScale) {
    process.env.AWS_ACCESS_KEY_ID ??= 'bench';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  }

  // Ctrl-C reaches the variant's process too; the bench itself stays to delete what was uploaded.
  process.once('SIGINT', () => console.error('\nbench: interrupted; cleaning up (Ctrl-C again to quit at once)'));
  const loadBefore = os.loadavg()[0]!;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-bench-'));
  let sink: ChildProcess | undefined;
  let results: Measured[] = [];
  let pacing: string[] = [];
  let failure: Error | undefined;
  try {
    let endpoint: Endpoint;
    if (options.target === 'sink') {
      const started = await startSinkProcess();
      sink = started.child;
      endpoint = { url: started.url, serverPids: [sink.pid!] };
    } else {
      endpoint = { url: process.env.S3_ENDPOINT!, serverPids: radosgwPids() };
    }
    console.log(`bench: target ${options.target} at ${endpoint.url}`);
    const client = adminClient(endpoint.url);
    const bucket = `hoist-bench-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      if (options.variants.length > 0) results = await runUploads(options, workDir, endpoint, client, bucket);
      if (options.pacing) pacing = await runPacing(options, options.pacing, workDir, endpoint, bucket);
    } finally {
      await removeBucket(client, bucket).catch((err) => console.error(`bench: could not delete bucket ${bucket}: ${(err as Error).message}`));
      client.destroy();
    }
  } catch (err) {
    failure = err as Error;
  } finally {
    if (sink?.connected) sink.disconnect();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  if (failure) {
    console.error(`bench: ${failure.message}`);
    return 1;
  }

  const cpus = os.cpus();
  console.log('');
  console.log(`Upload benchmark, ${new Date().toISOString()}`);
  console.log(`  files ${options.sizes.map((n) => formatBytes(n)).join(', ')} (${options.cold ? 'evicted from the page cache before each variant: first reads from disk' : 'in the page cache'}); Hoist and "same settings" use ${formatBytes(options.partSize)} parts, concurrency ${options.concurrency}${options.tuning ? ` (Hoist: automatic, ${options.tuning.min}..${options.tuning.max})` : ''}`);
  console.log(`  target ${options.target}; machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${os.platform()} ${os.release()}; 1-min load average at start ${fixed(loadBefore, 2)}, at end ${fixed(os.loadavg()[0]!, 2)}`);
  console.log(
    options.target === 'sink'
      ? '  the sink runs in its own process (its CPU is not counted against the client), but shares the same cores.'
      : '  radosgw (memstore) runs on the same cores as the client; "server CPU" is radosgw + ceph-osd + ceph-mon.',
  );
  console.log('  MB = 10^6 bytes; CPU = user + system of the client process, worker threads included; peak RSS = VmHWM.');
  if (results.length > 0) {
    console.log('');
    console.log(resultsTable(results, options.runs > 1));
    const flat = flatnessLines(results, options.sizes, options.variants);
    for (const size of options.sizes) {
      const summaries = summarize(results, size, options.variants);
      console.log('');
      if (options.sizes.length > 1) console.log(`${formatBytes(size)}:`);
      if (options.runs > 1) console.log(summaryTable(summaries, options.runs) + '\n');
      const ratios = ratioLines(summaries);
      if (ratios) console.log(ratios);
      const targets = targetLines(summaries, options, size === Math.max(...options.sizes) ? flat.hoistChange : null);
      if (targets.length) console.log(['Issue 6 targets (this run):', ...targets.map((t) => `  ${t}`)].join('\n'));
    }
    if (flat.lines.length) console.log('\n' + flat.lines.join('\n'));
  }
  if (pacing.length) console.log('\n' + pacing.join('\n'));

  if (options.variants.includes('hoist') && results.length > 0) {
    const md5 = md5ThroughputMBps();
    const md5CpuPerGiB = GiB / 1e6 / md5.best;
    const hoistCpuPerGiB = summarize(results, options.sizes[0]!, ['hoist'])[0]!.cpuPerGiB;
    console.log('');
    console.log(`Hashing cost (node:crypto MD5 over ${formatBytes(MD5_BUFFER_BYTES)} in memory, 1 MiB updates, 5 passes on one core)`);
    console.log(`  best ${fixed(md5.best, 0)} MB/s, median ${fixed(md5.median, 0)} MB/s = ${fixed(md5CpuPerGiB, 2)} CPU s per GiB hashed`);
    console.log(`  Hoist hashes every byte once for Content-MD5: about ${fixed((100 * md5CpuPerGiB) / hoistCpuPerGiB, 0)}% of its ${fixed(hoistCpuPerGiB, 2)} CPU s/GiB above`);
  }
  if (options.thenScale) {
    console.log('');
    await runScaleBench(parseScaleOptions([]));
  }
  return 0;
}
