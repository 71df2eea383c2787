// CPU per PutObject (1 MiB) and per UploadPart (64 MiB) in one thread, three ways (issue 12, the part
// workers' two hot requests): (a) the path the workers took until this bench, `client.send(cmd, { abortSignal })`,
// which makes the SDK resolve its middleware stack for every command; (b) the same client built with
// `cacheMiddleware: true` and sent without per-call options (the abort signal would have to reach the
// HTTP handler another way); (c) node:http signed with @smithy/signature-v4, as the workers now send
// (s3/direct-request.ts); (d) the same PUT unsigned, the floor of any client. Each
// body is the workers' own FileRangeBody over a random file; the sink runs in its own process, so the
// CPU counted is this process's. Also the CPU of starting a worker thread with and without client-s3.
//   node build/bench/put-overhead.js [--puts 400] [--parts 6] [--rounds 3]
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { requireCjs } from '../src-main/engine/cjs.js';
import { createS3Client, type ConnectionSettings } from '../src-main/engine/s3/client.js';
import { DirectS3 } from '../src-main/engine/s3/direct-request.js';
import { resolveTarget } from '../src-main/engine/s3/target-resolver.js';
import { ChunkPool, FileRangeBody } from '../src-main/engine/upload/file-range.js';
import { startSinkProcess, writeRandomFile } from './fixtures.js';
import { MiB } from './process-stats.js';

const s3 = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
const { SignatureV4 } = requireCjs('@smithy/signature-v4') as typeof import('@smithy/signature-v4');

class NodeSha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

type Sender = (key: string, fd: fs.promises.FileHandle, length: number, md5: string, part?: { uploadId: string; n: number }) => Promise<string>;

const chunks = new ChunkPool(64);
const body = (fd: fs.promises.FileHandle, length: number) => new FileRangeBody(fd, 0, length, chunks, { onBytes: () => undefined, signal: new AbortController().signal });

function sdkSender(client: import('@aws-sdk/client-s3').S3Client, perCallSignal: boolean): Sender {
  return async (key, fd, length, md5, part) => {
    const common = { Bucket: 'bench', Key: key, Body: body(fd, length), ContentLength: length, ContentMD5: md5 };
    const cmd = part ? new s3.UploadPartCommand({ ...common, UploadId: part.uploadId, PartNumber: part.n }) : new s3.PutObjectCommand({ ...common, ContentType: 'application/octet-stream' });
    const out = perCallSignal ? await client.send(cmd as never, { abortSignal: new AbortController().signal }) : await client.send(cmd as never);
    return (out as { ETag: string }).ETag;
  };
}

function directSender(client: DirectS3, target: Awaited<ReturnType<typeof resolveTarget>>): Sender {
  return async (key, fd, length, md5, part) => {
    const query: Record<string, string> = part ? { partNumber: String(part.n), uploadId: part.uploadId } : {};
    const headers: Record<string, string> = { 'content-md5': md5, ...(part ? {} : { 'content-type': 'application/octet-stream' }) };
    const h = await client.put({ target, key, query, headers, body: body(fd, length), length, signal: new AbortController().signal });
    return String(h.etag);
  };
}

function bareSender(endpoint: URL, agent: http.Agent, sign = true): Sender {
  const signer = new SignatureV4({ credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, region: 'us-east-1', service: 's3', sha256: NodeSha256 as never, uriEscapePath: false, applyChecksum: false });
  return async (key, fd, length, md5, part) => {
    const query: Record<string, string> = part ? { partNumber: String(part.n), uploadId: part.uploadId } : {};
    const headers: Record<string, string> = { host: endpoint.host, 'content-length': String(length), 'content-md5': md5, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    if (!part) headers['content-type'] = 'application/octet-stream';
    const signed = !sign ? { headers } : await signer.sign({ method: 'PUT', protocol: 'http:', hostname: endpoint.hostname, port: Number(endpoint.port), path: `/bench/${key}`, query, headers } as never, { signingDate: new Date() }) as unknown as { headers: Record<string, string> };
    const qs = new URLSearchParams(query).toString();
    return new Promise<string>((resolve, reject) => {
      const req = http.request({ method: 'PUT', host: endpoint.hostname, port: endpoint.port, path: `/bench/${key}${qs ? `?${qs}` : ''}`, headers: signed.headers, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(String(res.headers.etag)) : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      body(fd, length).pipe(req);
    });
  };
}

async function md5Of(fd: fs.promises.FileHandle, length: number): Promise<string> {
  const buf = Buffer.allocUnsafe(length);
  await fd.read(buf, 0, length, 0);
  return createHash('md5').update(buf).digest('base64');
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function timed(n: number, one: (i: number) => Promise<unknown>): Promise<number> {
  await one(-1); // warm: sockets, caches
  const start = cpuMs();
  for (let i = 0; i < n; i++) await one(i);
  return (cpuMs() - start) / n;
}

/** CPU of starting a thread that loads `modules` (the worker's own modules' cost, measured from this process). */
async function workerStart(modules: string[]): Promise<number> {
  const start = cpuMs();
  const code = `const { createRequire } = require('node:module'); const r = createRequire(${JSON.stringify(path.join(process.cwd(), 'package.json'))}); for (const m of ${JSON.stringify(modules)}) r(m);`;
  await new Promise<void>((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('error', reject);
    w.once('exit', () => resolve());
  });
  return cpuMs() - start;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { puts: { type: 'string', default: '400' }, parts: { type: 'string', default: '6' }, rounds: { type: 'string', default: '3' } } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'put-overhead-'));
  const small = path.join(dir, 'small');
  const big = path.join(dir, 'big');
  await writeRandomFile(small, MiB);
  await writeRandomFile(big, 64 * MiB);
  const sink = await startSinkProcess();
  try {
    const endpoint = new URL(sink.url);
    const conn: ConnectionSettings = { endpoint: sink.url, region: 'us-east-1', pathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, caBundle: null, idleTimeoutMs: 60_000, maxAttempts: 1, maxSockets: 8, clockOffsetMs: 0 };
    const today = createS3Client(conn);
    const cached = createS3Client(conn);
    (cached.config as { cacheMiddleware?: boolean }).cacheMiddleware = true;
    const variants: Record<string, Sender> = {
      'a sdk, per-call signal': sdkSender(today, true),
      'b sdk, cached middleware': sdkSender(cached, false),
      'c direct-request.ts': directSender(new DirectS3(conn), await resolveTarget(today, 'bench')),
      'd node:http, unsigned (floor)': bareSender(endpoint, new http.Agent({ keepAlive: true, maxSockets: 8 }), false),
    };
    const smallFd = await fs.promises.open(small, 'r');
    const bigFd = await fs.promises.open(big, 'r');
    const smallMd5 = await md5Of(smallFd, MiB);
    const bigMd5 = await md5Of(bigFd, 64 * MiB);
    const { UploadId } = await today.send(new s3.CreateMultipartUploadCommand({ Bucket: 'bench', Key: 'parts' }));
    const results = new Map<string, { put: number[]; part: number[] }>();
    for (let round = 0; round < Number(values.rounds); round++) {
      const names = round % 2 ? Object.keys(variants).reverse() : Object.keys(variants);
      for (const name of names) {
        const send = variants[name]!;
        const put = await timed(Number(values.puts), (i) => send(`f${i}`, smallFd, MiB, smallMd5));
        const part = await timed(Number(values.parts), (i) => send('parts', bigFd, 64 * MiB, bigMd5, { uploadId: UploadId!, n: i + 2 }));
        const r = results.get(name) ?? { put: [], part: [] };
        r.put.push(put);
        r.part.push(part);
        results.set(name, r);
      }
    }
    console.log(`load ${os.loadavg()[0]!.toFixed(2)}; CPU ms per request in this process (medians of ${values.rounds} rounds)`);
    for (const [name, r] of results) console.log(`${name.padEnd(30)} PutObject 1 MiB ${median(r.put).toFixed(2)}  UploadPart 64 MiB ${median(r.part).toFixed(2)}`);
    await smallFd.close();
    await bigFd.close();
    const none: number[] = [];
    const bare: number[] = [];
    const withSdk: number[] = [];
    for (let i = 0; i < 5; i++) {
      none.push(await workerStart([]));
      bare.push(await workerStart(['@smithy/signature-v4', 'node:http']));
      withSdk.push(await workerStart(['@aws-sdk/client-s3', '@smithy/node-http-handler']));
    }
    console.log(`worker start CPU ms (median of 5): empty ${median(none).toFixed(0)}, signature-v4 only ${median(bare).toFixed(0)}, client-s3 + node-http-handler ${median(withSdk).toFixed(0)}`);
  } finally {
    sink.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().then(() => process.exit(0));
