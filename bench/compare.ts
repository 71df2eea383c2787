// `npm run bench`: Hoist beside the clients a media team would pick instead (lib-storage, aws-cli,
// rclone), on the same files and the same verifying sink, alternating, several rounds, medians and
// ratios; then radosgw (MD5 mode) beside it, Hoist's peak RSS on a big file, and issue 12's targets.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { formatBytes, parseSize } from '../src-main/engine/upload/part-plan.js';
import { CASE_IDS, DEFAULT_CASES, evictFromPageCache, parseCount, prepareCase, verifyAndClear, writeSparseFile, type CaseId, type CaseSpec, type PreparedCase } from './cases.js';
import { caseTable, mainTable, ratioTable, runsTable, summarize, targetLines, type RunRecord } from './compare-report.js';
import { startSinkProcess } from './fixtures.js';
import { md5ThroughputMBps } from './md5-rate.js';
import { canMeasureTree, runMeasured } from './measured-process.js';
import { PEER_IDS, peerCommand, peerLabel, unavailable, type HoistSettings, type Peer, type PeerId, type PeerTarget } from './peers.js';
import { GiB, totalCpuSeconds } from './process-stats.js';
import { radosgwPids, waitForRoom } from './radosgw.js';
import { fixed } from './report.js';
import type { VariantResult } from './run-variant.js';

interface CompareOptions {
  cases: CaseSpec[];
  rounds: number;
  peers: PeerId[];
  /** Extra Hoist variants, one per integrity mode. */
  hoistIntegrity: string[];
  /** Extra Hoist variants with other settings (part size, in flight, threshold, threads, mode), to choose the defaults by. */
  hoistSettings: Array<{ settings: HoistSettings; integrity?: string }>;
  cold: boolean;
  /** The clip on radosgw, Hoist and lib-storage (0: skipped; also skipped without S3_ENDPOINT). */
  radosgwSize: number;
  radosgwRounds: number;
  /** Hoist alone on a sparse file of this size, for peak RSS (0: skipped). */
  bigSize: number;
}

/** npm run bench before issue 12 (docs/performance.md, 2026-12-01): Hoist on radosgw, 1 GiB, 64 MiB × 4. */
const RADOSGW_BASELINE_MBPS = 87;

export const COMPARE_USAGE = `usage: node build/bench/upload-bench.js [--cases clip,files,frames] [--rounds 3] [--peers hoist,lib-storage,aws-cli,rclone]
    [--clip 2GiB] [--files 2000x1MiB] [--frames 170x12MiB] [--hoist-integrity MODE[,MODE]] [--cold]
    [--hoist-settings part=32MiB:inflight=8:threshold=16MiB:workers=2:integrity=md5[,...]]
    [--radosgw-size 1GiB | 0] [--radosgw-rounds 1] [--big-size 16GiB | 0]
  Every client uploads the same files to the same sink (bench/s3-sink.ts: verifies Content-MD5 and flexible
  checksums as S3 does), in turn, the order rotated each round; medians over the rounds.
  --hoist-integrity: Hoist once more per mode, with the destination's integrity field set (issue 12).
  --hoist-settings: Hoist once more per comma-separated variant, each with the settings it names (the rest at defaults).
  --cold: every file is evicted from the page cache before each client's run (reads from the device).
  radosgw runs when S3_ENDPOINT is set (npm run bench starts the local one).
  The issue 6 single-file bench (sizes, bandwidth limit, automatic concurrency): --single [its options].`;

export function parseCompareOptions(argv: string[]): CompareOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string', default: CASE_IDS.join(',') },
      rounds: { type: 'string', default: '3' },
      peers: { type: 'string', default: PEER_IDS.join(',') },
      clip: { type: 'string' },
      files: { type: 'string' },
      frames: { type: 'string' },
      'hoist-integrity': { type: 'string' },
      'hoist-settings': { type: 'string' },
      cold: { type: 'boolean', default: false },
      'radosgw-size': { type: 'string', default: '1GiB' },
      'radosgw-rounds': { type: 'string', default: '1' },
      'big-size': { type: 'string', default: '16GiB' },
    },
    strict: true,
  });
  const ids = values.cases.split(',').map((c) => c.trim());
  for (const c of ids) if (!CASE_IDS.includes(c as CaseId)) throw new Error(`--cases: unknown case "${c}" (${CASE_IDS.join(', ')})`);
  const peers = values.peers.split(',').map((p) => p.trim());
  for (const p of peers) if (!PEER_IDS.includes(p as PeerId)) throw new Error(`--peers: unknown client "${p}" (${PEER_IDS.join(', ')})`);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds must be a whole number from 1 to 50');
  const radosgwRounds = Number(values['radosgw-rounds']);
  if (!Number.isInteger(radosgwRounds) || radosgwRounds < 1 || radosgwRounds > 50) throw new Error('--radosgw-rounds must be a whole number from 1 to 50');
  const cases = CASE_IDS.filter((c) => ids.includes(c)).map((id) => {
    const text = values[id];
    if (!text) return DEFAULT_CASES[id];
    return id === 'clip' ? { id, count: 1, fileBytes: parseSize(text) } : { id, ...parseCount(text, parseSize) };
  });
  const zeroOr = (text: string) => (text === '0' ? 0 : parseSize(text));
  return {
    cases,
    rounds,
    peers: PEER_IDS.filter((p) => peers.includes(p)),
    hoistIntegrity: values['hoist-integrity'] ? values['hoist-integrity'].split(',').map((m) => m.trim()).filter(Boolean) : [],
    hoistSettings: values['hoist-settings'] ? values['hoist-settings'].split(',').map((v) => v.trim()).filter(Boolean).map(parseHoistSettings) : [],
    cold: values.cold,
    radosgwSize: zeroOr(values['radosgw-size']),
    radosgwRounds,
    bigSize: zeroOr(values['big-size']),
  };
}

/** "part=32MiB:inflight=8:integrity=md5" → the settings it names. */
export function parseHoistSettings(text: string): { settings: HoistSettings; integrity?: string } {
  const settings: HoistSettings = {};
  let integrity: string | undefined;
  for (const pair of text.split(':')) {
    const [key, value] = pair.split('=').map((x) => x?.trim());
    if (!key || !value) throw new Error(`--hoist-settings: "${pair}" is not KEY=VALUE`);
    const whole = (n: number) => {
      if (!Number.isInteger(n) || n < 1) throw new Error(`--hoist-settings: ${key} must be a whole number above 0`);
      return n;
    };
    if (key === 'part') settings.partSize = parseSize(value);
    else if (key === 'inflight') settings.concurrency = whole(Number(value));
    else if (key === 'threshold') settings.singlePutThreshold = parseSize(value);
    else if (key === 'workers') settings.workers = whole(Number(value));
    else if (key === 'integrity') integrity = value;
    else throw new Error(`--hoist-settings: unknown setting "${key}" (part, inflight, threshold, workers, integrity)`);
  }
  return integrity ? { settings, integrity } : { settings };
}

/** The peers to run, Hoist's integrity variants beside Hoist at defaults; a peer not installed is skipped, saying so. */
function resolvePeers(o: CompareOptions): Peer[] {
  const out: Peer[] = [];
  for (const id of o.peers) {
    const why = unavailable(id);
    if (why) {
      console.log(`bench: skipping ${peerLabel(id)}: ${why}`);
      continue;
    }
    out.push({ id, label: peerLabel(id) });
    if (id === 'hoist') for (const mode of o.hoistIntegrity) out.push({ id, label: peerLabel(id, mode), integrity: mode });
    if (id === 'hoist') for (const v of o.hoistSettings) out.push({ id, label: peerLabel(id, v.integrity, v.settings), settings: v.settings, ...(v.integrity ? { integrity: v.integrity } : {}) });
  }
  return out;
}

interface Target extends PeerTarget {
  kind: 'sink' | 'radosgw';
  serverPids: number[];
  client: S3Client;
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

async function runOne(peer: Peer, c: PreparedCase, t: Target, round: number, cold: boolean): Promise<RunRecord> {
  const run = `${slug(peer.label)}-${c.id}-${round}`;
  if (t.kind === 'radosgw') await waitForRoom(c.bytes, (line) => console.log(line));
  if (cold) evictFromPageCache(c.files);
  const cmd = peerCommand(peer, { path: c.path, isFolder: c.isFolder, bytes: c.bytes, prefix: run }, t, run);
  // lib-storage at its SDK's defaults sends CRC32; radosgw keeps the figures of before (no checksum).
  if (t.kind === 'radosgw' && peer.id === 'lib-storage') {
    const i = cmd.argv.length - 1;
    cmd.argv[i] = JSON.stringify({ ...JSON.parse(cmd.argv[i]!), sdkChecksums: false });
  }
  process.stdout.write(`bench: ${c.label} on ${t.kind}, round ${round}: ${peer.label} ... `);
  const before = totalCpuSeconds(t.serverPids);
  const figures = await runMeasured(cmd.argv, cmd.env, 120_000 + c.bytes / 2e3, path.join(t.workDir, `${run}.time`), peer.label);
  const after = totalCpuSeconds(t.serverPids);
  const inProcess = cmd.resultFile ? (JSON.parse(fs.readFileSync(cmd.resultFile, 'utf8')) as VariantResult) : null;
  if (cmd.resultFile) fs.rmSync(cmd.resultFile, { force: true });
  await verifyAndClear(t.client, t.bucket, run, c);
  const record: RunRecord = {
    target: t.kind,
    caseId: c.id,
    caseLabel: c.label,
    bytes: c.bytes,
    count: c.count,
    peer: peer.label,
    round,
    figures,
    inProcess,
    serverCpuSeconds: before === null || after === null ? null : after - before,
  };
  console.log(`${fixed(c.bytes / 1e6 / figures.wallSeconds, 0)} MB/s${c.count > 1 ? `, ${fixed(c.count / figures.wallSeconds, 0)} files/s` : ''}, ${fixed(figures.cpuSeconds, 2)} CPU s, peak RSS ${fixed(figures.peakRssBytes === null ? null : figures.peakRssBytes / 2 ** 20, 0)} MiB, verified`);
  return record;
}

/** Every peer on the case, `rounds` times, the order rotated each round so none always goes first. */
async function runCase(peers: Peer[], c: PreparedCase, t: Target, rounds: number, cold: boolean): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (let round = 1; round <= rounds; round++) {
    const shift = (round - 1) % peers.length;
    for (const peer of [...peers.slice(shift), ...peers.slice(0, shift)]) {
      try {
        out.push(await runOne(peer, c, t, round, cold).catch((err: Error) => {
          // Once more after a failure (a shared machine can fail a run for reasons not the client's), saying why.
          console.log(`failed, once more: ${err.message.split('\n')[0]}`);
          return runOne(peer, c, t, round, cold);
        }));
      } catch (err) {
        // An engine without issue 12's integrity setting cannot run that variant: say so and go on without it.
        if (!peer.integrity || !/no integrity setting/.test((err as Error).message)) throw err;
        console.log(`skipped: ${(err as Error).message.split('\n').find((l) => /no integrity setting/.test(l))?.trim()}`);
        peers.splice(peers.indexOf(peer), 1);
      }
    }
  }
  return out;
}

async function withTarget<T>(kind: 'sink' | 'radosgw', workDir: string, use: (t: Target) => Promise<T>): Promise<T> {
  let sink: Awaited<ReturnType<typeof startSinkProcess>> | undefined;
  let endpoint: string;
  let serverPids: number[];
  if (kind === 'sink') {
    sink = await startSinkProcess();
    endpoint = sink.url;
    serverPids = [sink.child.pid!];
  } else {
    endpoint = process.env.S3_ENDPOINT!;
    serverPids = radosgwPids();
  }
  const accessKeyId = kind === 'sink' ? 'bench' : process.env.AWS_ACCESS_KEY_ID!;
  const secretAccessKey = kind === 'sink' ? 'bench' : process.env.AWS_SECRET_ACCESS_KEY!;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const bucket = `hoist-bench-${randomBytes(4).toString('hex')}`;
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      return await use({ kind, endpoint, bucket, accessKeyId, secretAccessKey, workDir, serverPids, client });
    } finally {
      await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch((err) => console.error(`bench: could not delete bucket ${bucket}: ${(err as Error).message}`));
    }
  } finally {
    client.destroy();
    if (sink?.child.connected) sink.child.disconnect();
  }
}

export async function runCompare(o: CompareOptions): Promise<number> {
  const peers = resolvePeers(o);
  if (!canMeasureTree()) console.log('bench: /usr/bin/time (GNU time) is not installed: CPU, peak RSS and device reads of the clients are not measured');
  const hoist = peers.find((p) => p.id === 'hoist' && !p.integrity)?.label ?? peerLabel('hoist');
  const loadBefore = os.loadavg()[0]!;
  const started = new Date();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-bench-'));
  const records: RunRecord[] = [];
  let big: { bytes: number; peakRssMiB: number | null } | null = null;
  try {
    await withTarget('sink', workDir, async (t) => {
      for (const spec of o.cases) {
        const t0 = performance.now();
        const c = await prepareCase(spec, workDir);
        console.log(`bench: wrote ${c.label} (${formatBytes(c.bytes)} of random data) in ${fixed((performance.now() - t0) / 1000, 1)} s`);
        try {
          records.push(...(await runCase(peers, c, t, o.rounds, o.cold)));
        } finally {
          fs.rmSync(c.path, { recursive: true, force: true });
        }
      }
      if (o.bigSize > 0 && peers.some((p) => p.label === hoist)) {
        const file = path.join(workDir, 'big-sparse.mov');
        writeSparseFile(file, o.bigSize);
        try {
          const c: PreparedCase = { id: 'clip', count: 1, fileBytes: o.bigSize, label: `${formatBytes(o.bigSize)} clip (sparse)`, path: file, isFolder: false, bytes: o.bigSize, files: [file] };
          const r = await runOne(peers.find((p) => p.label === hoist)!, c, t, 1, false);
          big = { bytes: o.bigSize, peakRssMiB: r.figures.peakRssBytes === null ? null : r.figures.peakRssBytes / 2 ** 20 };
          records.push({ ...r, caseId: 'clip', caseLabel: c.label, peer: `${hoist} (big)` });
        } finally {
          fs.rmSync(file, { force: true });
        }
      }
    });
    if (o.radosgwSize > 0 && process.env.S3_ENDPOINT) {
      await withTarget('radosgw', workDir, async (t) => {
        const c = await prepareCase({ id: 'clip', count: 1, fileBytes: o.radosgwSize }, workDir);
        try {
          const onRgw = peers.filter((p) => p.id === 'hoist' || p.id === 'lib-storage');
          records.push(...(await runCase(onRgw, c, t, o.radosgwRounds, o.cold)));
        } finally {
          fs.rmSync(c.path, { force: true });
        }
      });
    } else if (o.radosgwSize > 0) {
      console.log('bench: S3_ENDPOINT is not set: no radosgw figures (npm run bench starts the local radosgw)');
    }
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 1;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  report(o, records, peers, hoist, big, started, loadBefore);
  return 0;
}

function report(o: CompareOptions, records: RunRecord[], peers: Peer[], hoist: string, big: { bytes: number; peakRssMiB: number | null } | null, started: Date, loadBefore: number): void {
  const cpus = os.cpus();
  const summaries = summarize(records.filter((r) => !r.peer.endsWith('(big)')));
  console.log('');
  console.log(`Upload comparison, ${started.toISOString()}, ${o.rounds} rounds (radosgw: ${o.radosgwRounds}), files ${o.cold ? 'evicted from the page cache before each run (first reads from the device)' : 'in the page cache'}`);
  console.log(`  machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${os.platform()} ${os.release()}; 1-min load average at start ${fixed(loadBefore, 2)}, at end ${fixed(os.loadavg()[0]!, 2)}`);
  console.log('  each client is a process tree measured from outside: wall from spawn to exit, CPU = user + system of the tree (wait4 rusage),');
  console.log('  peak RSS = largest max RSS in the tree, disk read/byte = bytes read from the device (rusage inblock) per byte sent;');
  console.log('  in-process = Hoist and lib-storage timed inside from the first request (as the issue 6 bench did). MB = 10^6 bytes.');
  console.log('  the sink verifies Content-MD5 and x-amz-checksum-* (headers and aws-chunked trailers) and answers BadDigest as S3 does.');
  for (const target of ['sink', 'radosgw'] as const) {
    // radosgw's case is a clip even when the sink's cases leave the clip out.
    for (const id of CASE_IDS) {
      const these = summaries.filter((s) => s.target === target && s.caseId === id);
      if (these.length === 0) continue;
      console.log('');
      console.log(`${these[0]!.caseLabel}, ${target === 'sink' ? 'sink' : 'radosgw (MD5 mode; server CPU = radosgw + ceph-osd + ceph-mon)'}:`);
      console.log(runsTable(records.filter((r) => r.target === target && r.caseId === id && !r.peer.endsWith('(big)'))));
      console.log('');
      console.log(caseTable(these));
      const ratios = ratioTable(these, hoist);
      if (ratios) console.log(ratios);
    }
  }
  const bigRecord = records.find((r) => r.peer.endsWith('(big)'));
  if (bigRecord) {
    console.log('');
    console.log(`${bigRecord.caseLabel}, ${hoist} alone, for peak RSS: ${fixed(bigRecord.bytes / 1e6 / bigRecord.figures.wallSeconds, 0)} MB/s, ${fixed(bigRecord.figures.cpuSeconds === null ? null : bigRecord.figures.cpuSeconds / (bigRecord.bytes / GiB), 2)} CPU s/GiB, peak RSS ${fixed(big?.peakRssMiB ?? null, 0)} MiB`);
  }
  const md5 = md5ThroughputMBps();
  console.log('');
  console.log(`Main table (sink, medians of ${o.rounds}; CPU of the whole client process tree):`);
  console.log(mainTable(summaries, peers.map((p) => p.label)));
  console.log('');
  console.log(`MD5 on one core (node:crypto, 1 MiB updates): ${fixed(md5.best, 0)} MB/s = ${fixed(GiB / 1e6 / md5.best, 2)} CPU s/GiB`);
  console.log('');
  console.log('Issue 12 targets (this run):');
  for (const line of targetLines({ summaries, hoist, bigRss: big, radosgwBaselineMBps: RADOSGW_BASELINE_MBPS, md5MBpsOneCore: md5.best })) console.log(`  ${line}`);
}
