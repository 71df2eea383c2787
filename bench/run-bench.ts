// The upload benchmark: Hoist's engine against @aws-sdk/lib-storage, each variant in its own process.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
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
import { formatBytes, parseSize } from '../src-main/engine/upload/part-plan.js';
import { GiB, MiB, totalCpuSeconds } from './process-stats.js';
import { radosgwPids, waitForRoom } from './radosgw.js';
import { fixed, median, table } from './report.js';
import type { VariantName, VariantRequest, VariantResult } from './run-variant.js';

type Target = 'radosgw' | 'sink';

interface BenchOptions {
  size: number;
  partSize: number;
  concurrency: number;
  target: Target;
  runs: number;
}

interface Measured extends VariantResult {
  run: number;
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
const MD5_BUFFER_BYTES = 256 * MiB;

const USAGE = `usage: node build/bench/upload-bench.js [--size 1GiB] [--part-size 64MiB] [--concurrency 4] [--target radosgw|sink] [--runs 1]
  radosgw: the server at S3_ENDPOINT (npm run bench starts the local one);
  sink:    a discard-everything S3 endpoint started here (bench/s3-sink.ts), in its own process.`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '1GiB' },
      'part-size': { type: 'string', default: '64MiB' },
      concurrency: { type: 'string', default: '4' },
      target: { type: 'string', default: 'radosgw' },
      runs: { type: 'string', default: '1' },
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
  const options = {
    size: parseSize(values.size),
    partSize: parseSize(values['part-size']),
    concurrency: wholeNumber('concurrency', values.concurrency, 1, 64),
    target,
    runs: wholeNumber('runs', values.runs, 1, 100),
  } satisfies BenchOptions;
  if (options.size < 1) throw new Error('--size must be at least one byte');
  if (options.partSize < 5 * MiB || options.partSize > 5 * GiB) throw new Error('--part-size must be from 5MiB to 5GiB');
  return options;
}

/** Random bytes written in 8 MiB slices, so the file never sits in memory. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const slice = Buffer.allocUnsafe(8 * MiB);
  const fh = await fs.promises.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(slice.length, size - written);
      randomFillSync(slice, 0, n);
      await fh.write(slice, 0, n);
      written += n;
    }
  } finally {
    await fh.close();
  }
}

export async function startSinkProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(new URL('./s3-sink.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the sink exited early (code ${code})`)));
  });
  return { child, url };
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

/** MD5 speed of node:crypto over a buffer in memory, fed in 1 MiB chunks as Hoist's workers read them. */
function md5ThroughputMBps(): { best: number; median: number } {
  const data = randomBytes(MD5_BUFFER_BYTES);
  const speeds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const md5 = createHash('md5');
    for (let at = 0; at < data.length; at += MiB) md5.update(data.subarray(at, at + MiB));
    md5.digest();
    speeds.push(data.length / 1e6 / ((performance.now() - t0) / 1000));
  }
  return { best: Math.max(...speeds), median: median(speeds) };
}

interface Summary {
  variant: VariantName;
  mbps: number;
  cpuPerGiB: number;
  peakRssMiB: number;
  runs: Measured[];
}

function summarize(results: Measured[], size: number): Summary[] {
  return VARIANTS.map((variant) => {
    const runs = results.filter((r) => r.variant === variant);
    return {
      variant,
      mbps: median(runs.map((r) => size / 1e6 / r.wallSeconds)),
      cpuPerGiB: median(runs.map((r) => r.cpuSeconds / (size / GiB))),
      peakRssMiB: Math.max(...runs.map((r) => r.peakRssBytes / MiB)),
      runs,
    };
  });
}

function resultsTable(results: Measured[], size: number, withRun: boolean): string {
  const gib = size / GiB;
  const header = [withRun ? 'run: variant' : 'variant', 'part size', 'conc', 'wall s', 'MB/s', 'CPU s', 'CPU s/GiB', 'RSS before MiB', 'peak RSS MiB', 'UploadPart reqs', 'server CPU s/GiB'];
  const rows = results.map((r) => [
    withRun ? `${r.run}: ${LABEL[r.variant]}` : LABEL[r.variant],
    formatBytes(r.partSize),
    String(r.concurrency),
    fixed(r.wallSeconds, 2),
    fixed(size / 1e6 / r.wallSeconds, 0),
    fixed(r.cpuSeconds, 2),
    fixed(r.cpuSeconds / gib, 2),
    fixed(r.rssBeforeBytes / MiB, 0),
    fixed(r.peakRssBytes / MiB, 0),
    String(r.uploadPartRequests),
    fixed(r.serverCpuSeconds === null ? null : r.serverCpuSeconds / gib, 2),
  ]);
  return table(header, rows);
}

function summaryTable(summaries: Summary[], runs: number): string {
  const rows = summaries.map((s) => [LABEL[s.variant], fixed(s.mbps, 0), fixed(s.cpuPerGiB, 2), fixed(s.peakRssMiB, 0)]);
  return table(['variant', `MB/s (median of ${runs})`, 'CPU s/GiB (median)', 'peak RSS MiB (max)'], rows);
}

function ratioLines(summaries: Summary[]): string {
  const by = (v: VariantName) => summaries.find((s) => s.variant === v)!;
  const hoist = by('hoist');
  const rows = (['lib-storage-defaults', 'lib-storage-same'] as const).map((v) => {
    const other = by(v);
    return [`Hoist / ${LABEL[v]}`, `${fixed(hoist.mbps / other.mbps, 2)}x`, `${fixed(hoist.cpuPerGiB / other.cpuPerGiB, 2)}x`, `${fixed(hoist.peakRssMiB / other.peakRssMiB, 2)}x`];
  });
  return table(['ratio', 'throughput', 'CPU s/GiB', 'peak RSS'], rows);
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
  if (options.target === 'sink') {
    // The sink checks no signatures, but the SDK wants credentials to sign with.
    process.env.AWS_ACCESS_KEY_ID ??= 'bench';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  }

  // Ctrl-C reaches the variant's process too; the bench itself stays to delete what was uploaded.
  process.once('SIGINT', () => console.error('\nbench: interrupted; cleaning up (Ctrl-C again to quit at once)'));
  const loadBefore = os.loadavg()[0]!;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-bench-'));
  const file = path.join(workDir, 'source.bin');
  let sink: ChildProcess | undefined;
  const results: Measured[] = [];
  let failure: Error | undefined;
  try {
    const t0 = performance.now();
    await writeRandomFile(file, options.size);
    console.log(`bench: wrote ${formatBytes(options.size)} of random data to ${file} in ${fixed((performance.now() - t0) / 1000, 1)} s`);

    let endpoint: string;
    let serverPids: number[];
    if (options.target === 'sink') {
      const started = await startSinkProcess();
      sink = started.child;
      endpoint = started.url;
      serverPids = [sink.pid!];
    } else {
      endpoint = process.env.S3_ENDPOINT!;
      serverPids = radosgwPids();
    }
    console.log(`bench: target ${options.target} at ${endpoint}`);

    const client = adminClient(endpoint);
    const bucket = `hoist-bench-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      for (let run = 1; run <= options.runs; run++) {
        for (const variant of VARIANTS) {
          const key = `${variant}-${run}`;
          if (options.target === 'radosgw') await waitForRoom(options.size, (line) => console.log(line));
          process.stdout.write(`bench: run ${run}/${options.runs}: ${LABEL[variant]} ... `);
          const serverCpuBefore = totalCpuSeconds(serverPids);
          const result = await runVariant({ variant, file, size: options.size, endpoint, bucket, key, partSize: options.partSize, concurrency: options.concurrency, workDir });
          const serverCpuAfter = totalCpuSeconds(serverPids);
          await verifyAndDelete(client, bucket, key, options.size);
          const serverCpuSeconds = serverCpuBefore === null || serverCpuAfter === null ? null : serverCpuAfter - serverCpuBefore;
          results.push({ ...result, run, serverCpuSeconds });
          console.log(`${fixed(options.size / 1e6 / result.wallSeconds, 0)} MB/s, verified`);
        }
      }
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
  console.log(`  file ${formatBytes(options.size)} (${options.size} bytes, in the page cache); Hoist and "same settings" use ${formatBytes(options.partSize)} parts, concurrency ${options.concurrency}`);
  console.log(`  target ${options.target}; machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${os.platform()} ${os.release()}; 1-min load average at start ${fixed(loadBefore, 2)}`);
  console.log(
    options.target === 'sink'
      ? '  the sink runs in its own process (its CPU is not counted against the client), but shares the same cores.'
      : '  radosgw (memstore) runs on the same cores as the client; "server CPU" is radosgw + ceph-osd + ceph-mon.',
  );
  console.log('  MB = 10^6 bytes; CPU = user + system of the client process, worker threads included; peak RSS = VmHWM.');
  console.log('');
  console.log(resultsTable(results, options.size, options.runs > 1));
  const summaries = summarize(results, options.size);
  console.log('');
  if (options.runs > 1) {
    console.log(summaryTable(summaries, options.runs));
    console.log('');
  }
  console.log(ratioLines(summaries));
  console.log('  (throughput above 1x: Hoist faster; CPU and RSS below 1x: Hoist cheaper)');

  const md5 = md5ThroughputMBps();
  const md5CpuPerGiB = GiB / 1e6 / md5.best;
  const hoistCpuPerGiB = summaries.find((s) => s.variant === 'hoist')!.cpuPerGiB;
  console.log('');
  console.log(`Hashing cost (node:crypto MD5 over ${formatBytes(MD5_BUFFER_BYTES)} in memory, 1 MiB updates, 5 passes on one core)`);
  console.log(`  best ${fixed(md5.best, 0)} MB/s, median ${fixed(md5.median, 0)} MB/s = ${fixed(md5CpuPerGiB, 2)} CPU s per GiB hashed`);
  console.log(`  Hoist hashes every byte once for Content-MD5: about ${fixed((100 * md5CpuPerGiB) / hoistCpuPerGiB, 0)}% of its ${fixed(hoistCpuPerGiB, 2)} CPU s/GiB above`);
  return 0;
}
