// What the bench sink itself costs per GiB, beside what the hashing S3 must do costs in the same run.
// The sink runs in its own process; this process plays a client that spends as little CPU as it can
// (one random body per shape, its Content-MD5 / checksum / aws-chunked encoding computed once, sent
// over and over), so the sink's CPU (/proc/<pid>/stat) is the figure and the client's is shown beside it.
// Shapes: SIZE:KIND, KIND one of md5 (Content-MD5, as Hoist), crc32 (x-amz-checksum-crc32 header, as
// aws-cli over http), chunked (aws-chunked, 64 KiB chunks, CRC32 trailer, as the JS SDK over TLS).
// Bodies of 5 MiB or more are parts of a multipart upload (completed at the end), smaller ones PutObjects.
//   node build/bench/sink-cost.js [--gib 2] [--shapes 64MiB:md5,8MiB:crc32,8MiB:chunked,1MiB:md5]
//       [--inflight 4] [--rounds 1] [--profile DIR] [--sinks A/build/bench/s3-sink.js,B/build/bench/s3-sink.js]
// --profile runs the sink under `node --cpu-prof` and prints its self time by function (wall-clock
// samples: on a loaded machine they overstate time in syscalls that wake another process; `perf` tells CPU).
// --sinks compares sink builds (say main's and a branch's): each in its own process, taking turns.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { formatBytes, parseSize } from '../src-main/engine/upload/part-plan.js';
import { encodeAwsChunked } from './aws-chunked.js';
import { profileBy } from './cpu-profile.js';
import { startSinkProcess } from './fixtures.js';
import { GiB, MiB } from './process-stats.js';
import { fixed, median, table } from './report.js';

type Kind = 'md5' | 'crc32' | 'chunked';
interface Shape {
  size: number;
  kind: Kind;
}

interface Prepared {
  shape: Shape;
  body: Buffer;
  headers: Record<string, string | number>;
  crc32: string;
}

function prepare(shape: Shape): Prepared {
  const data = randomBytes(shape.size);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlibCrc32(data) >>> 0);
  const crc32 = crc.toString('base64');
  if (shape.kind === 'md5') return { shape, body: data, headers: { 'content-md5': createHash('md5').update(data).digest('base64') }, crc32 };
  if (shape.kind === 'crc32') return { shape, body: data, headers: { 'x-amz-checksum-crc32': crc32 }, crc32 };
  return {
    shape,
    body: encodeAwsChunked(data, 64 * 1024, { 'x-amz-checksum-crc32': crc32 }),
    headers: {
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-amz-decoded-content-length': data.length,
    },
    crc32,
  };
}

function request(agent: http.Agent, url: string, method: string, headers: Record<string, string | number>, body: Buffer | string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode! >= 300) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
        else resolve({ status: res.statusCode!, headers: res.headers, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends `total` bytes of p's shape with `inflight` requests at a time; multipart when the body is a part's size. */
async function send(sinkUrl: string, p: Prepared, total: number, inflight: number, key: string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inflight });
  const count = Math.max(1, Math.round(total / p.shape.size));
  const multipart = p.shape.size >= 5 * MiB;
  const objectUrl = `${sinkUrl}/cost/${key}`;
  let uploadId = '';
  if (multipart) {
    const created = await request(agent, `${objectUrl}?uploads`, 'POST', {}, '');
    uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)![1]!;
  }
  const etags: string[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) {
      const url = multipart ? `${objectUrl}?partNumber=${i + 1}&uploadId=${uploadId}` : `${objectUrl}-${i}`;
      const r = await request(agent, url, 'PUT', p.headers, p.body);
      etags[i] = String(r.headers.etag);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  if (multipart) {
    const tag = p.shape.kind === 'md5' ? '' : `<ChecksumCRC32>${p.crc32}</ChecksumCRC32>`;
    const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag>${tag}</Part>`).join('');
    await request(agent, `${objectUrl}?uploadId=${uploadId}`, 'POST', {}, `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`);
  }
  agent.destroy();
}

/** CPU seconds per GiB of one digest over `bytes` in 1 MiB updates, in this process (nothing else runs here meanwhile). */
function hashCostPerGiB(update: (chunk: Buffer) => void, data: Buffer, bytes: number): number {
  const t0 = process.cpuUsage();
  for (let done = 0; done < bytes; done += data.length) for (let at = 0; at < data.length; at += MiB) update(data.subarray(at, at + MiB));
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / 1e6 / (bytes / GiB);
}

/** User and system CPU seconds of a process (all its threads), from /proc/<pid>/stat (Linux, 100 ticks/s). */
function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
}

function parseShapes(text: string): Shape[] {
  return text.split(',').map((s) => {
    const [size, kind] = s.trim().split(':');
    if (kind !== 'md5' && kind !== 'crc32' && kind !== 'chunked') throw new Error(`--shapes: "${s}" is not SIZE:md5|crc32|chunked`);
    return { size: parseSize(size!), kind };
  });
}

/** The sink's self time by function (top n), from the profiles its process wrote. */
function profileSummary(dir: string, top: number): string {
  const totals = new Map<string, number>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const by = profileBy(p, 0, Number.MAX_SAFE_INTEGER, (frames) => {
      const f = frames[0]! as { functionName: string; url: string; lineNumber?: number };
      return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|build)\//, '')}:${(f.lineNumber ?? -1) + 1}`;
    });
    for (const [k, us] of by) totals.set(k, (totals.get(k) ?? 0) + us);
  }
  const sum = [...totals.values()].reduce((a, b) => a + b, 0);
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => [k, fixed(us / 1e6, 2), fixed((100 * us) / sum, 1)]);
  return table(['sink function (self)', 's', '%'], rows);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      gib: { type: 'string', default: '2' },
      shapes: { type: 'string', default: '64MiB:md5,8MiB:crc32,8MiB:chunked,1MiB:md5' },
      inflight: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '1' },
      profile: { type: 'string' },
      top: { type: 'string', default: '25' },
      sinks: { type: 'string' },
    },
    strict: true,
  });
  const total = Number(values.gib) * GiB;
  const inflight = Number(values.inflight);
  const rounds = Number(values.rounds);
  const shapes = parseShapes(values.shapes);
  const profDir = values.profile ? path.resolve(values.profile) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });

  const sample = randomBytes(64 * MiB);
  // MD5 and CRC32 alone, measured again before every shape's run: on a shared machine a CPU second buys
  // less when the other core is busy, so the yardstick must come from the same minutes.
  const md5Cost = () => {
    const h = createHash('md5');
    return hashCostPerGiB((c) => void h.update(c), sample, 512 * MiB);
  };
  const crc32Cost = () => {
    let crc = 0;
    return hashCostPerGiB((c) => void (crc = zlibCrc32(c, crc)), sample, 512 * MiB);
  };

  // Each sink build in its own process; with several, they take turns on every shape and round.
  const sinkFiles = values.sinks ? values.sinks.split(',').map((f) => path.resolve(f.trim())) : [fileURLToPath(new URL('./s3-sink.js', import.meta.url))];
  const sinks = await Promise.all(sinkFiles.map((file, i) => startSinkProcess(profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profDir, String(i))}`] : [], file)));
  type Round = { sink: number; sys: number; client: number; mbps: number; md5: number; crc32: number };
  const rows: string[][] = [];
  try {
    for (const shape of shapes) {
      const p = prepare(shape);
      const perSink: Round[][] = sinks.map(() => []);
      for (let r = 0; r < rounds; r++) {
        for (const [i, sink] of sinks.entries()) {
          const pid = sink.child.pid!;
          const md5 = md5Cost();
          const crc32 = crc32Cost();
          const s0 = cpuSplit(pid);
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await send(sink.url, p, total, inflight, `${shape.kind}-${shape.size}-${r}`);
          const wall = (performance.now() - t0) / 1000;
          const c = process.cpuUsage(c0);
          const gib = (Math.max(1, Math.round(total / shape.size)) * shape.size) / GiB;
          const s1 = cpuSplit(pid);
          perSink[i]!.push({ md5, crc32, sink: (s1.user + s1.sys - s0.user - s0.sys) / gib, sys: (s1.sys - s0.sys) / gib, client: (c.user + c.system) / 1e6 / gib, mbps: (gib * GiB) / 1e6 / wall });
        }
      }
      for (const [i, runs] of perSink.entries()) {
        const m = (f: (x: Round) => number) => median(runs.map(f));
        const label = `${formatBytes(shape.size)} ${shape.kind}${sinks.length > 1 ? ` [${sinkFiles[i]!.replace(/\/build\/bench\/s3-sink\.js$/, '')}]` : ''}`;
        rows.push([label, fixed(m((x) => x.mbps), 0), fixed(m((x) => x.sink), 2), fixed(m((x) => x.sys), 2), fixed(m((x) => x.md5), 2), fixed(m((x) => x.sink - x.md5 - (shape.kind === 'md5' ? 0 : x.crc32)), 2), fixed(m((x) => x.client), 2)]);
      }
    }
  } finally {
    for (const sink of sinks) {
      const exited = new Promise((resolve) => sink.child.once('exit', resolve));
      sink.child.disconnect();
      await exited;
    }
  }
  console.log(`${formatBytes(total)} per shape, ${inflight} requests in flight, medians of ${rounds}${sinks.length > 1 ? ', the sinks in turn' : ''}:`);
  console.log(table(['shape', 'MB/s', 'sink CPU s/GiB', 'of which system', 'MD5 alone', 'beyond MD5 (+CRC32)', 'client CPU s/GiB'], rows));
  if (profDir) for (const [i, file] of sinkFiles.entries()) console.log(`${file}:\n${profileSummary(path.join(profDir, String(i)), Number(values.top))}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
