// The headless bridge and the command dispatch that Electron's IPC handlers call, fed thousands of
// malformed and random messages from a seeded generator (HOIST_FUZZ_SEED replays a run): random
// JSON, wrong types, prototype-pollution keys, oversized and binary frames, invalid UTF-8, and path
// arguments that lead to a canary folder by traversal. The host must not crash, must keep answering
// valid requests, and must not touch any file outside its data folder and the watched folder:
// inotify reports every open, read, write, create and delete under the test's folder.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import WebSocket from 'ws';
import { BRIDGE_MAX_PAYLOAD } from '../../shared/bridge.js';
import { HOIST_COMMANDS } from '../../shared/contract.js';
import { isErrorCode } from '../../shared/errors.js';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { toErrorInfo } from '../../src-main/engine/s3/errors.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { runCommand } from '../../src-main/hosts/dispatch.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import { testEngine, until } from '../support/engine.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, s3Env } from '../support/s3.js';

const SEED = Number(process.env.HOIST_FUZZ_SEED ?? 20261201);
const { bucket, dir, onClose } = await s3Fixture('host-fuzz');
const data = path.join(dir, 'data');
const watched = path.join(dir, 'watched');
const canary = path.join(dir, 'canary');
const renderer = path.join(dir, 'renderer');
let engine: Engine;
let folders: FolderWatcher;
let api: EngineApi;
let host: HeadlessHost;
let inotify: ChildProcess;
const touched: string[] = [];
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

before(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  for (const d of [data, watched, path.join(canary, 'A001'), renderer]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(canary, 'A001', 'C001.mov'), 'canary: never to be read');
  fs.writeFileSync(path.join(canary, 'notes.txt'), 'canary');
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Hoist</title>');
  // Every access under the test's folder, recorded from before the host starts.
  inotify = spawn('inotifywait', ['-m', '-r', '--format', '%w%f\t%e', '-e', 'open,access,modify,attrib,close_write,create,delete,moved_from,moved_to', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  inotify.stdout!.on('data', (d) => {
    out += d;
    const lines = out.split('\n');
    out = lines.pop()!;
    touched.push(...lines);
  });
  let err = '';
  inotify.stderr!.on('data', (d) => (err += d));
  await until('inotifywait to watch', () => /Watches established/.test(err), 20_000);
  ({ engine } = testEngine(data, { endpoint: s3Env().endpoint, bucket }, { idleTimeoutMs: 3000 }));
  engine.start();
  folders = new FolderWatcher(engine);
  await folders.start();
  api = new EngineApi(engine, { folders });
  await api.addFolder({ path: watched, destinationId: 1, stableMs: 200 });
  host = await startHeadlessHost({ api, staticDir: renderer });
});
onClose(async () => {
  await host.close();
  api.dispose();
  await folders.stop();
  await engine.close();
  if (inotify.exitCode === null) inotify.kill();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

// ---- the generator (mulberry32: small, seeded, replayable) ----

let state = SEED >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** Paths that lead to the canary only by traversal, encoding or a relative form; never the canary named plainly (that would be a folder the user chose). */
const PATH_ATTACKS = [
  `${watched}/../canary`,
  `${watched}/../../${path.basename(dir)}/canary/A001`,
  `${dir}/./canary`,
  `${data}/../canary/A001/C001.mov`,
  'canary',
  '../canary',
  './canary/A001',
  'data/../canary',
  `${canary}\u0000`,
  `${watched}\u0000/../canary`,
  `file://${canary}`,
  `${watched}/%2e%2e/canary`,
  `${watched}/..%2fcanary`,
  `~/..${canary}`,
  `$HOME/../..${canary}`,
  canary.replaceAll('/', '\\'),
  `\\\\?\\${canary}`,
  `${watched}/${'../'.repeat(40)}${canary.slice(1)}`,
  `${watched}/${'a/'.repeat(2100)}`,
  `${canary}\u202e`,
];
const STRINGS = ['', ' ', 'x', 'é', '🎬', '\u0000', '\uffff', '\ud800', '%00', '${7*7}', '<script>', "'; DROP TABLE jobs; --", 'queued', 'high', 'keep', 'cancel', 'crc32c', 'AES256', 'us-east-1', s3Env().endpoint, 'http://127.0.0.1:9', 'x'.repeat(70), 'é'.repeat(600), ...PATH_ATTACKS];
const POLLUTERS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'toString', 'hasOwnProperty'];
const FIELDS = ['id', 'name', 'endpoint', 'region', 'bucket', 'prefix', 'pathStyle', 'profile', 'storageClass', 'sse', 'sseKmsKeyId', 'partSize', 'concurrency', 'singlePutThreshold', 'maxObjectSize', 'maxParts', 'checksumAlgorithm', 'path', 'destinationId', 'include', 'exclude', 'growing', 'stableMs', 'enabled', 'states', 'offset', 'limit', 'sort', 'descending', 'accessKeyId', 'secretAccessKey', 'sessionToken'];
const NUMBERS = [0, 1, 2, 3, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 5 * MiB, 64 * MiB];

function randomString(): string {
  if (rand() < 0.6) return pick(STRINGS);
  const n = int(1, 40);
  let s = '';
  // Never a leading "/": a random absolute path that exists ("/", "/tmp") would be a folder the user chose.
  for (let i = 0; i < n; i++) s += String.fromCodePoint(pick([int(0x21, 0x2e), int(0x30, 0x7e), int(0xa0, 0x2ff), int(0x1f300, 0x1f3ff)]));
  return s;
}

function value(depth = 0): unknown {
  const r = rand();
  if (depth > 4 || r < 0.55) return pick<() => unknown>([() => null, () => rand() < 0.5, () => pick(NUMBERS), randomString])();
  if (r < 0.75) return Array.from({ length: int(0, 5) }, () => value(depth + 1));
  const o: Record<string, unknown> = {};
  // Own properties, as JSON.parse and a structured clone make them: `o.__proto__ = …` would set the prototype instead.
  for (let i = int(0, 6); i > 0; i--) Object.defineProperty(o, rand() < 0.15 ? pick(POLLUTERS) : pick(FIELDS), { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
  return o;
}

/** A destination or folder close to valid, with one or two fields broken, or a path attack. */
function nearValid(method: string): unknown[] {
  const dest = { name: `fuzz-${int(1, 5)}`, endpoint: pick([s3Env().endpoint, 'http://127.0.0.1:9']), region: 'us-east-1', bucket: pick([bucket, 'fuzz-bucket', 'ab']), prefix: '', pathStyle: true, profile: null, storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 0, maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null } as Record<string, unknown>;
  const folder = { path: pick(PATH_ATTACKS), destinationId: int(1, 3), stableMs: 200 } as Record<string, unknown>;
  const target = method === 'saveDestination' ? dest : folder;
  for (let i = int(0, 2); i > 0; i--) Object.defineProperty(target, rand() < 0.2 ? pick(POLLUTERS) : pick(FIELDS), { value: value(2), enumerable: true, writable: true, configurable: true });
  switch (method) {
    case 'saveDestination':
      return [dest, rand() < 0.3 ? value(1) : undefined];
    case 'addFolder':
      return [folder];
    case 'listRemoteUploads':
      return [int(1, 3), randomString()];
    case 'abortRemoteUpload':
      return [int(1, 3), randomString(), randomString()];
    default:
      return Array.from({ length: int(0, 3) }, () => (rand() < 0.5 ? int(-1, 4) : value(1)));
  }
}

function frame(): { data: string | Buffer; binary?: boolean } {
  const r = rand();
  if (r < 0.05) return { data: Buffer.from(Array.from({ length: int(1, 64) }, () => int(0, 255))), binary: true };
  if (r < 0.15) return { data: JSON.stringify(value()) };
  if (r < 0.2) return { data: pick(['{', '[1,', '{"id":1,"method":"listJobs","args":[}', 'nul', '"\\ud800"', '{"id":1e999,"method":"totals"}']) };
  if (r < 0.25) return { data: `{"id":${int(1, 99)},"method":"${pick(HOIST_COMMANDS)}","args":[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}]}` };
  const method = rand() < 0.85 ? pick(HOIST_COMMANDS) : randomString();
  const id = rand() < 0.9 ? int(1, 1_000_000) : value(1);
  const args = rand() < 0.6 ? nearValid(method) : rand() < 0.8 ? Array.from({ length: int(0, 4) }, () => value(1)) : value(1);
  return { data: JSON.stringify({ id, method, args }) };
}

// ---- a bridge client ----

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/bridge?token=${host.token}`, { headers: { Origin: `http://127.0.0.1:${host.port}` } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** A second socket that only sends valid requests, so the fuzzer's load cannot crowd it out. */
class Pinger {
  private next = 1;
  private readonly answers = new Map<string, { result?: unknown; error?: unknown }>();
  constructor(private readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id?: string; result?: unknown; error?: unknown };
      if (typeof m.id === 'string') this.answers.set(m.id, m);
    });
  }
  async call(method: string, ...args: unknown[]): Promise<unknown> {
    const id = `ping-${this.next++}`;
    this.ws.send(JSON.stringify({ id, method, args }));
    const a = await until(`an answer to ${method}`, () => this.answers.get(id), 30_000);
    assert.equal(a.error, undefined, `${method} failed: ${JSON.stringify(a.error)}`);
    return a.result;
  }
}

const FRAMES = 3000;

test(`the WebSocket bridge, ${FRAMES} random and malformed frames (seed ${SEED}): never crashes, every answer a known code, valid requests still served`, { timeout: 5 * 60_000 }, async () => {
  const pinger = new Pinger(await open());
  let ws = await open();
  let answered = 0;
  let closes = 0;
  const codes = new Map<string, number>();
  const unexpected: string[] = [];
  const listen = (socket: WebSocket) => {
    socket.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id?: unknown; error?: { code: string; message: string } };
      if (!('id' in m)) return; // an event
      answered++;
      if (m.error) {
        assert.ok(isErrorCode(m.error.code), `an unknown code: ${JSON.stringify(m.error)}`);
        assert.ok(m.error.message.length > 0 && m.error.message.length < 2000, m.error.message);
        codes.set(m.error.code, (codes.get(m.error.code) ?? 0) + 1);
        if (m.error.code === 'internal.unexpected') unexpected.push(JSON.stringify(m.error));
      }
    });
    socket.on('close', () => closes++);
    socket.on('error', () => undefined);
  };
  listen(ws);
  let sent = 0;
  for (let i = 0; i < FRAMES; i++) {
    if (ws.readyState !== WebSocket.OPEN) {
      ws = await open();
      listen(ws);
    }
    const r = rand();
    if (r < 0.004) {
      ws.send('x'.repeat(BRIDGE_MAX_PAYLOAD + int(1, 4096))); // too big: this socket is closed (1009)
    } else if (r < 0.008) {
      ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false }); // invalid UTF-8 in a text frame (1007)
    } else if (r < 0.012) {
      ws.send(JSON.stringify({ id: i, method: 'listJobs', args: [{ states: ['queued'], pad: 'x'.repeat(BRIDGE_MAX_PAYLOAD - 200) }] }));
    } else {
      const f = frame();
      ws.send(f.data, { binary: Boolean(f.binary) });
    }
    sent++;
    // Not faster than the host reads: a flood only fills socket buffers.
    if (i % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (i % 300 === 0) {
      const page = (await pinger.call('listJobs', { limit: 5 })) as { jobs: unknown[]; total: number };
      assert.equal(typeof page.total, 'number');
      assert.equal(typeof ((await pinger.call('totals')) as { rate: number }).rate, 'number');
    }
  }
  await until('the answers to settle', async () => {
    const before = answered;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return answered === before;
  }, 120_000);
  const folderList = (await pinger.call('listFolders')) as Array<{ path: string }>;
  assert.ok(folderList.every((f) => f.path !== canary && !f.path.startsWith(canary + path.sep)), 'no path attack made the canary a watched folder');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  assert.deepEqual(crashes, [], 'nothing was thrown out of the host');
  assert.deepEqual(unexpected, [], 'every refusal says what was wrong (no internal.unexpected)');
  ws.close();
  console.log(`bridge fuzz: seed ${SEED}, ${sent} frames, ${answered} answers, ${closes} sockets closed by the host; errors ${JSON.stringify(Object.fromEntries(codes))}`);
  recordResult('bridge-fuzz', {
    what: `${sent} frames on the headless bridge (seed ${SEED}): random JSON, wrong types, __proto__/constructor keys, path traversal to a canary folder, binary, invalid UTF-8, over 1 MiB`,
    outcome: `no crash; ${answered} answers, every error a known code with a message; oversized/invalid frames close only their socket (${closes}); valid requests on another socket answered throughout`,
  });
});

function describe(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Map || x instanceof Set ? [...x] : x)) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** What Electron's structured clone can carry besides JSON: the IPC handlers get these as arguments. */
function cloneable(): unknown {
  return pick<() => unknown>([
    () => value(1),
    () => undefined,
    () => new Date(int(0, 2 ** 40)),
    () => new Map([[randomString(), value(2)]]),
    () => new Set([value(2)]),
    () => new Uint8Array(int(0, 64)),
    () => BigInt(int(0, 1000)),
    () => /re/g,
    () => new Error('x'),
    () => NaN,
    () => -0,
    // eslint-disable-next-line no-sparse-arrays -- a hole, one of the values structured clone carries
    () => [undefined, , 1],
  ])();
}

test(`the dispatch behind Electron's IPC handlers, ${FRAMES} random calls: every one resolves or is refused with a known code, never a crash`, { timeout: 5 * 60_000 }, async () => {
  const codes = new Map<string, number>();
  let resolved = 0;
  const calls: Promise<void>[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const name = rand() < 0.9 ? pick(HOIST_COMMANDS) : cloneable();
    const args = rand() < 0.5 ? nearValid(typeof name === 'string' ? name : '') : rand() < 0.8 ? Array.from({ length: int(0, 4) }, cloneable) : cloneable();
    calls.push(
      runCommand(api, name, args).then(
        () => void resolved++,
        (err: unknown) => {
          const info = toErrorInfo(err);
          assert.ok(isErrorCode(info.code));
          assert.notEqual(info.code, 'internal.unexpected', `${describe(name)} ${describe(args)}: ${(err as Error)?.stack ?? describe(err)}`);
          codes.set(info.code, (codes.get(info.code) ?? 0) + 1);
        },
      ),
    );
    if (calls.length >= 32) await Promise.all(calls.splice(0));
  }
  await Promise.all(calls);
  assert.ok(resolved > 0, 'some random calls were valid and ran');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(crashes, []);
  console.log(`dispatch fuzz: seed ${SEED}, ${FRAMES} calls, ${resolved} ran; refusals ${JSON.stringify(Object.fromEntries(codes))}`);
  recordResult('ipc-dispatch-fuzz', {
    what: `${FRAMES} random calls of the command dispatch Electron's IPC handlers use (seed ${SEED}), with structured-clone values (Map, Set, Date, BigInt, typed arrays, undefined holes)`,
    outcome: `no crash, no internal.unexpected; ${resolved} valid calls ran, the rest refused with known codes`,
  });
});

test('nothing outside the data folder and the watched folder was opened, read, written or created (inotify)', async () => {
  // The check can fail: a read of the canary by the test itself is seen.
  fs.readFileSync(path.join(canary, 'notes.txt'));
  await until('inotify to report the test’s own read', () => touched.some((t) => t.startsWith(path.join(canary, 'notes.txt'))), 10_000);
  const selfCheck = touched.findIndex((t) => t.startsWith(path.join(canary, 'notes.txt')));
  const allowed = [data, watched, renderer].map((d) => d + path.sep);
  const outside = touched.slice(0, selfCheck).filter((t) => {
    const file = t.split('\t')[0]!;
    return !allowed.some((a) => file.startsWith(a) || file + path.sep === a);
  });
  assert.deepEqual(outside, [], 'the host touched files outside its data folder and the watched folder');
  recordResult('host-file-access', {
    what: 'every open, read, write, create and delete under the test folder (inotify) during both fuzz runs, with path arguments aimed at a canary folder',
    outcome: `${touched.length - 1} accesses, all inside the data folder and the watched folder; the canary untouched`,
  });
});
