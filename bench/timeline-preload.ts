// Preloaded (`node --import`) into a process that bench/start-timeline.ts measures: appends a mark,
// on the epoch clock, to $HOIST_TIMELINE_FILE when this thread starts, when it first loads one of the
// packages below (and how long that took), when it spawns a child process, and when it exits. Runs in
// every thread (workers inherit the option).
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { Module, syncBuiltinESMExports } from 'node:module';
import { isMainThread, threadId } from 'node:worker_threads';

const file = process.env.HOIST_TIMELINE_FILE;
const now = () => performance.timeOrigin + performance.now();
const who = isMainThread ? 'main' : `thread ${threadId}`;
const mark = (what: string, at = now()) => {
  if (file) fs.appendFileSync(file, `${at.toFixed(1)} ${who}: ${what}\n`);
};

mark('process start', performance.timeOrigin);
mark('preload ran');

// aws-crt through its loader (checksums.js) or its addon required directly (upload/crt-checksums.ts).
const WATCHED = ['@aws-sdk/client-s3', 'better-sqlite3', 'aws-crt/dist/native/checksums.js', 'aws-crt-nodejs.node', '@smithy/signature-v4', '@smithy/node-http-handler', 'hash-wasm'];
const seen = new Set<string>();
type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const internal = Module as unknown as { _load: Load };
const load = internal._load;
internal._load = function (request, parent, isMain) {
  const name = WATCHED.find((w) => request === w || request.endsWith(`/node_modules/${w}`) || (w.endsWith('.node') && request.endsWith(`/${w}`)));
  if (!name || seen.has(name)) return load.call(this, request, parent, isMain);
  seen.add(name);
  const t = now();
  const out = load.call(this, request, parent, isMain);
  mark(`loaded ${name} (${(now() - t).toFixed(0)} ms)`, t);
  return out;
};

const spawnSync = childProcess.spawnSync;
childProcess.spawnSync = function (this: unknown, ...args: Parameters<typeof spawnSync>) {
  const t = now();
  const out = spawnSync.apply(this, args);
  mark(`spawnSync ${String(args[0])} (${(now() - t).toFixed(0)} ms)`, t);
  return out;
} as typeof spawnSync;
syncBuiltinESMExports();

process.on('exit', () => mark('exit event'));

// A build instrumented by hand for one look calls this where it wants a mark (never committed so).
(globalThis as { __hoistMark?: (what: string) => void }).__hoistMark = mark;
