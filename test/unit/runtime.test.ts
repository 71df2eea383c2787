// The runtime without a bucket: one order of start and close, the log file beside the database, a
// second process that waits for the lease and takes over when the first stops, and the headless
// host opened over it. Needs no S3 server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { serveRuntime } from '../../src-main/hosts/headless/serve.js';
import { logger } from '../../src-main/engine/log.js';
import { logFilePath } from '../../src-main/engine/log-file.js';
import { logLevelFrom } from '../../src-main/runtime/log-file.js';
import { openRuntime, withRuntime } from '../../src-main/runtime/runtime.js';
import { until } from '../support/engine.js';

const tmp = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `hoist-${label}-`));

test('withRuntime closes, awaited, when its function throws: the lease is given back and the log file flushed', async () => {
  const dir = tmp('runtime-throws');
  const dbPath = path.join(dir, 'hoist.db');
  let ran = false;
  await assert.rejects(
    withRuntime({ dbPath, log: { echo: false, level: 'debug' } }, async (rt) => {
      ran = true;
      assert.deepEqual(rt.state, { state: 'working' });
      logger('test').debug('a debug line', { n: 1 });
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(ran);
  // Another runtime takes the lease at once: the first gave it back.
  await withRuntime({ dbPath, wait: false, log: false }, async (rt) => assert.deepEqual(rt.state, { state: 'working' }));
  const lines = fs.readFileSync(path.join(dir, 'hoist.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.area === 'test' && l.msg === 'a debug line' && l.n === 1 && l.level === 20), 'debug lines reach the file at level debug');
});

test('a second runtime on the same database waits for the lease, serves commands meanwhile, and takes over when the first closes', async () => {
  const dir = tmp('runtime-two');
  const dbPath = path.join(dir, 'hoist.db');
  const first = await openRuntime({ dbPath, log: false, lease: { heartbeatMs: 100 } });
  const second = await openRuntime({ dbPath, log: false, lease: { heartbeatMs: 100 } });
  try {
    assert.deepEqual(first.state, { state: 'working' });
    assert.deepEqual(second.state, { state: 'waiting', pid: process.pid, host: os.hostname() });
    // Commands go to the database from either.
    const dest = second.engine.upsertDestination({
      name: 'd', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null, storageClass: null,
      sse: null, sseKmsKeyId: null, partSize: 5 * 2 ** 20, concurrency: 1, singlePutThreshold: 2 ** 20, maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
    });
    assert.equal(first.engine.store.getDestination(dest.id)?.name, 'd');
    await first.close();
    await until('the second to take over', () => second.state.state === 'working');
    assert.equal(second.engine.running, true);
  } finally {
    await first.close();
    await second.close();
  }
});

test('the log file sits beside the database; HOIST_LOG_LEVEL sets the level', () => {
  assert.equal(logFilePath('/data/hoist/hoist.db'), path.join('/data/hoist', 'hoist.log'));
  assert.equal(path.basename(logFilePath()), 'hoist.log');
  assert.equal(logLevelFrom({ HOIST_LOG_LEVEL: 'WARN' }), 'warn');
  assert.equal(logLevelFrom({ HOIST_LOG_LEVEL: 'loud' }), 'info');
  assert.equal(logLevelFrom({}), 'info');
});

test('serveRuntime serves the API over the runtime; a port in use leaves nothing open behind the error', async () => {
  const dir = tmp('runtime-serve');
  const dbPath = path.join(dir, 'hoist.db');
  const staticDir = tmp('runtime-static');
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Hoist</title>');
  const served = await serveRuntime({ dbPath, staticDir, log: false });
  try {
    assert.deepEqual(await served.runtime.api.runnerState(), { state: 'working' });
    const res = await fetch(served.host.url, { redirect: 'manual' });
    assert.equal(res.status, 303, 'the token is traded for a cookie');
    // The same port again: refused, and the runtime it opened is closed (its lease given back).
    await assert.rejects(serveRuntime({ dbPath: path.join(dir, 'other.db'), staticDir, log: false, port: served.host.port }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    const probe = await openRuntime({ dbPath: path.join(dir, 'other.db'), wait: false, log: false });
    assert.deepEqual(probe.state, { state: 'working' }, 'the failed serve gave its lease back');
    await probe.close();
  } finally {
    await served.close();
  }
  // Closed: the port is free again.
  await new Promise<void>((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(served.host.port, '127.0.0.1', () => s.close(() => resolve()));
  });
});

test('the log level saved in Settings applies at once to the running log file, and to the next process that opens the database', async () => {
  const dir = tmp('runtime-log-level');
  const dbPath = path.join(dir, 'hoist.db');
  const read = () => fs.readFileSync(path.join(dir, 'hoist.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  await withRuntime({ dbPath, work: false, log: { echo: false, level: 'info' } }, async (rt) => {
    logger('test').debug('dropped at info');
    const settings = await rt.api.getSettings();
    await rt.api.saveSettings({ ...settings, logLevel: 'debug' });
    logger('test').debug('kept at debug');
  });
  await withRuntime({ dbPath, work: false, log: { echo: false, level: 'info' } }, async () => logger('test').debug('kept from the start'));
  const msgs = read().filter((l) => l.area === 'test').map((l) => l.msg);
  assert.deepEqual(msgs, ['kept at debug', 'kept from the start']);
});
