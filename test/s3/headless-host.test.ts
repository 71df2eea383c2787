// The headless host against a real engine and the real local S3 server: loopback only, the token
// on every request, the Origin on every bridge upgrade, no file outside the renderer, and a bridge
// that answers bad frames with errors instead of falling over.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import WebSocket from 'ws';
import type { BridgeServerMessage } from '../../shared/bridge.js';
import type { HoistEvent } from '../../shared/contract.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { ConnectionCheck, Destination, Job } from '../../shared/types.js';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import { testEngine, until } from '../support/engine.js';
import { whileServing } from '../support/hoist-cli.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, s3Env, tempDir, writeRandomFile } from '../support/s3.js';

const { bucket, dir, onClose } = await s3Fixture('headless');
const staticDir = path.join(dir, 'renderer');
const SECRET = 'outside the renderer: must never be served';
let engine: Engine;
let api: EngineApi;
let host: HeadlessHost;
let cookie: string;

before(async () => {
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Hoist</title><script type="module" src="/assets/app.js"></script>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log("hoist")');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.css'), 'body{}');
  fs.writeFileSync(path.join(staticDir, '.env'), SECRET);
  fs.writeFileSync(path.join(dir, 'secret.txt'), SECRET);
  fs.symlinkSync(dir, path.join(staticDir, 'escape'));
  ({ engine } = testEngine(dir, { endpoint: s3Env().endpoint, bucket }));
  api = new EngineApi(engine);
  host = await startHeadlessHost({ api, staticDir });
  const first = await get(host.url);
  cookie = String(first.headers['set-cookie']).split(';')[0]!;
});
onClose(async () => {
  await host.close();
  api.dispose();
  await engine.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path goes out exactly as written, not normalised by a URL parser. */
function get(url: string, headers: Record<string, string> = {}, rawPath?: string): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath ?? u.pathname + u.search, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const origin = () => `http://127.0.0.1:${host.port}`;
const bridgeUrl = () => `ws://127.0.0.1:${host.port}/bridge`;

/** Opens a bridge socket; resolves with it, or with the HTTP status that refused the upgrade. */
function connect(headers: Record<string, string>, url = bridgeUrl()): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode!);
      res.resume();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** A test-side client of the protocol in shared/bridge.ts. */
class Bridge {
  readonly frames: BridgeServerMessage[] = [];
  private next = 1;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as BridgeServerMessage));
  }

  static async open(headers: Record<string, string> = { Origin: origin(), Cookie: cookie }, url = bridgeUrl()): Promise<Bridge> {
    const ws = await connect(headers, url);
    assert.ok(ws instanceof WebSocket, `upgrade refused with ${String(ws)}`);
    return new Bridge(ws);
  }

  async answer(id: string | number | null): Promise<BridgeServerMessage> {
    return until(`the answer to ${String(id)}`, () => this.frames.find((f) => 'id' in f && f.id === id));
  }

  async call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = `r${this.next++}`;
    this.ws.send(JSON.stringify({ id, method, args }));
    const answer = await this.answer(id);
    if ('error' in answer) throw answer.error;
    return (answer as { result: T }).result;
  }

  async failure(method: string, ...args: unknown[]): Promise<ErrorInfo> {
    try {
      await this.call(method, ...args);
    } catch (err) {
      return err as ErrorInfo;
    }
    assert.fail(`${method} succeeded`);
  }

  event(match: (e: HoistEvent) => boolean): Promise<HoistEvent> {
    return until('an event', () => this.frames.map((f) => ('event' in f ? f.event : null)).find((e) => e !== null && match(e)) ?? undefined);
  }

  close(): void {
    this.ws.close();
  }
}

test('the host listens on 127.0.0.1 only', async () => {
  assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  const others = Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => a !== undefined && a.address !== '127.0.0.1')
    .map((a) => a.address);
  others.push('::1');
  for (const address of others) {
    const outcome = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: address, port: host.port }, () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    assert.notEqual(outcome, 'connected', `reachable on ${address}`);
  }
});

test('every request needs the token; the first page load trades it for a strict cookie', async () => {
  const bare = await get(origin() + '/');
  assert.equal(bare.status, 401);
  assert.equal((await get(origin() + '/assets/app.js')).status, 401);
  assert.equal((await get(origin() + '/?token=' + 'x'.repeat(43))).status, 401, 'a wrong token');
  assert.equal((await get(origin() + '/', { Cookie: `hoist_token_${host.port}=${'y'.repeat(43)}` })).status, 401, 'a wrong cookie');
  assert.equal((await get(origin() + '/', { Cookie: `hoist_token_1=${host.token}` })).status, 401, "another port's cookie name");

  const first = await get(host.url);
  assert.equal(first.status, 303);
  assert.equal(first.headers.location, '/', 'the token leaves the address bar');
  const setCookie = String(first.headers['set-cookie']);
  assert.match(setCookie, new RegExp(`^hoist_token_${host.port}=${host.token};`));
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);

  const page = await get(origin() + '/', { Cookie: cookie });
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>Hoist<\/title>/);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-store');
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${host.port}(;|$)`));
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');

  const rebound = await get(origin() + '/', { Cookie: cookie, Host: `attacker.example:${host.port}` });
  assert.equal(rebound.status, 403, 'a foreign Host header (DNS rebinding) is refused');
});

test('assets are served with their MIME type; nothing outside the renderer is', async () => {
  const js = await get(origin() + '/assets/app.js', { Cookie: cookie });
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^(text|application)\/javascript/);
  assert.match(String((await get(origin() + '/assets/app.css', { Cookie: cookie })).headers['content-type']), /^text\/css/);
  assert.equal((await get(origin() + '/assets/missing.js', { Cookie: cookie })).status, 404);

  const attempts = [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/escape/secret.txt',
    '/.env',
    '/%00/index.html',
    '/%E0%A4%A',
    '//etc/passwd',
  ];
  for (const rawPath of attempts) {
    const answer = await get(origin() + '/', { Cookie: cookie }, rawPath);
    assert.ok(answer.status === 403 || answer.status === 404, `${rawPath}: ${answer.status}`);
    assert.ok(!answer.body.includes(SECRET), `${rawPath} leaked the file`);
  }
  const post = await new Promise<number>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: '/', method: 'POST', headers: { Cookie: cookie } }, (res) => resolve(res.statusCode!));
    req.end('x');
  });
  assert.equal(post, 405);
});

test('bridge upgrades need the host’s own Origin and the token', async () => {
  assert.equal(await connect({ Origin: origin() }), 401, 'no token');
  assert.equal(await connect({ Origin: origin(), Cookie: `hoist_token_${host.port}=${'z'.repeat(43)}` }), 401, 'a wrong token');
  assert.equal(await connect({ Origin: 'http://evil.example', Cookie: cookie }), 403, 'another Origin');
  assert.equal(await connect({ Origin: `http://localhost:${host.port}`, Cookie: cookie }), 403, 'the same port under another name');
  assert.equal(await connect({ Cookie: cookie }), 403, 'no Origin at all');
  assert.equal(await connect({ Origin: origin(), Cookie: cookie }, `ws://127.0.0.1:${host.port}/other`), 404);
  const withQueryToken = await connect({ Origin: origin() }, `${bridgeUrl()}?token=${host.token}`);
  assert.ok(withQueryToken instanceof WebSocket, 'a non-browser client may give the token in the URL');
  withQueryToken.close();
});

test('a full command round trip over the bridge, with events pushed as jobs change', async () => {
  const bridge = await Bridge.open();
  try {
    const input = {
      name: 'Footage', endpoint: s3Env().endpoint, region: 'us-east-1', bucket, prefix: 'shoot/', pathStyle: true, profile: null,
      storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 0,
      maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
    };
    const saved = await bridge.call<Destination>('saveDestination', input);
    assert.equal(saved.name, 'Footage');
    assert.ok((await bridge.call<Destination[]>('listDestinations')).some((d) => d.id === saved.id));

    const refused = await bridge.failure('saveDestination', { ...input, name: 'With keys' }, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' });
    assert.equal(refused.code, 'config.invalid');
    assert.match(refused.message, /keeps no credentials.*AWS_PROFILE/s);

    const checks = await bridge.call<ConnectionCheck[]>('testConnection', saved.id);
    assert.deepEqual(checks.map((c) => [c.permission, c.ok]), [['PutObject', true], ['ListBucketMultipartUploads', true], ['ListMultipartUploadParts', true], ['AbortMultipartUpload', true], ['GetEncryptionConfiguration', true], ['ChecksumVerification', true]]);

    const file = await writeRandomFile(path.join(dir, 'A001.mov'), 1024);
    const [job] = await engine.enqueue([file], { destination: saved });
    const queued = await bridge.event((e) => e.type === 'job' && e.job.id === job!.id);
    assert.equal((queued as { job: Job }).job.state, 'queued');

    const page = await bridge.call<{ jobs: Job[]; total: number }>('listJobs', { states: ['queued'], limit: 10 });
    assert.equal(page.total, 1);
    assert.equal(page.jobs[0]!.key, 'shoot/A001.mov');
    assert.equal('inode' in page.jobs[0]!, false, 'internal columns stay inside');

    assert.equal(await bridge.call('pauseAll'), 1);
    await bridge.event((e) => e.type === 'job' && e.job.id === job!.id && e.job.state === 'paused');
    assert.equal(engine.getJob(job!.id)!.state, 'paused');
    assert.equal(await bridge.call('removeFolder', 1, 'keep').catch((e: ErrorInfo) => e.code), 'config.invalid');
    assert.equal(await bridge.call('cancelJob', job!.id), true);
    assert.equal(await bridge.call('getJob', 999_999), null, 'a missing job is null, not an error');
  } finally {
    bridge.close();
  }
});

test('malformed frames are answered with errors and the host keeps serving', async () => {
  const bridge = await Bridge.open();
  const frames = ['not json', '[]', 'null', '"text"', '{"method":"listJobs"}', '{"id":{},"method":"listJobs"}', `{"id":"${'x'.repeat(65)}","method":"totals"}`];
  for (const frame of frames) bridge.ws.send(frame);
  await until('an answer to each bad frame', () => bridge.frames.filter((f) => 'id' in f && f.id === null).length === frames.length);
  for (const f of bridge.frames) assert.equal((f as { error?: ErrorInfo }).error?.code, 'config.invalid', JSON.stringify(f));

  bridge.ws.send(JSON.stringify({ id: 1, method: 'dropTables', args: [] }));
  assert.match(((await bridge.answer(1)) as { error: ErrorInfo }).error.message, /Unknown command "dropTables"/);
  bridge.ws.send(JSON.stringify({ id: 2, method: 'getJob', args: ['1 OR 1=1'] }));
  assert.match(((await bridge.answer(2)) as { error: ErrorInfo }).error.message, /getJob: id/);
  bridge.ws.send(JSON.stringify({ id: 3, method: 'pauseJob', args: [987_654] }));
  assert.match(((await bridge.answer(3)) as { error: ErrorInfo }).error.message, /There is no job 987654/);
  bridge.ws.send(Buffer.from([0xff, 0x00]), { binary: true });
  bridge.ws.send(JSON.stringify({ id: 4, method: 'totals' }));
  assert.ok('result' in (await bridge.answer(4)), 'a good request after bad ones is answered');

  // A frame above the size limit ends that socket only.
  const closed = new Promise<number>((resolve) => bridge.ws.once('close', (code) => resolve(code)));
  bridge.ws.send(JSON.stringify({ id: 5, method: 'totals', args: ['x'.repeat(2 * MiB)] }));
  assert.equal(await closed, 1009);
  const again = await Bridge.open();
  try {
    assert.equal(typeof (await again.call<{ rate: number }>('totals')).rate, 'number');
  } finally {
    again.close();
  }
});

test('`hoist serve` prints its address, works the queue and the watch folders, answers only with the token, and stops cleanly on Ctrl-C', async () => {
  const result = await whileServing(['--db', path.join(tempDir('serve'), 'hoist.db'), 'serve', '--port', '0'], async (address) => {
    const url = address.href;
    assert.equal((await get(url)).status, 303);
    assert.equal((await get(new URL('/', url).href)).status, 401);

    const { port, searchParams } = new URL(url);
    const bridge = await Bridge.open({ Origin: `http://127.0.0.1:${port}` }, `ws://127.0.0.1:${port}/bridge?token=${searchParams.get('token')}`);
    try {
      const dest = await bridge.call<Destination>('saveDestination', {
        name: 'Served', endpoint: s3Env().endpoint, region: 'us-east-1', bucket, prefix: 'served/', pathStyle: true, profile: null,
        storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: MiB,
        maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
      });
      const watched = tempDir('serve-watched');
      await bridge.call('addFolder', { path: watched, destinationId: dest.id, stableMs: 100 });
      await writeRandomFile(path.join(watched, 'B002.mov'), 2048);
      const job = await until('the dropped file to be uploaded', async () => {
        const { jobs } = await bridge.call<{ jobs: Job[] }>('listJobs', { states: ['done'] });
        return jobs.find((j) => j.key === 'served/B002.mov');
      });
      assert.equal(job.size, 2048);
    } finally {
      bridge.close();
    }
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /stopping cleanly/);
});
