// The runner lease, gained and lost as one (issue 11): a running runtime (engine, folder watcher,
// webhooks, ASC MHL writer) whose lease another process takes stops everything that acts on files
// or the bucket (no upload part, no clean-up of a delivered source, no webhook delivery, no manifest
// write: counted at the S3 proxy, the webhook receiver and on disk), keeps answering commands, and
// starts all of it again once the lease is back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { MiB } from '../../shared/limits.js';
import type { LeaseState } from '../../src-main/engine/lease.js';
import { openRuntime } from '../../src-main/runtime/runtime.js';
import { until, sleep } from '../support/engine.js';
import { createBucket, removeBucket, s3Client, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const client = s3Client();
let bucket: string;
let proxy: S3Proxy;

before(async () => {
  bucket = await createBucket(client, 'lease');
  proxy = await startS3Proxy(s3Env().endpoint);
});
after(async () => {
  proxy?.setBandwidth(null);
  await proxy?.close();
  if (bucket) await removeBucket(client, bucket);
});

/**
 * Another runner, as the lease table sees one: a live process on this host (the test runner that
 * started us) renewing its heartbeat. Written with a connection of its own, as that process would.
 */
function intruder(dbPath: string): { stop(): void } {
  const db = new Database(dbPath);
  db.pragma('busy_timeout = 5000');
  const beat = () =>
    db
      .prepare(`INSERT INTO runner_lease (id, owner, pid, host, heartbeat_at) VALUES (1, 'intruder', ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, host = excluded.host, heartbeat_at = excluded.heartbeat_at`)
      .run(process.ppid, os.hostname(), Date.now());
  beat();
  const timer = setInterval(beat, 300);
  return {
    stop() {
      clearInterval(timer);
      // It stops and gives the lease back, as a runner that closes does.
      db.prepare(`DELETE FROM runner_lease WHERE owner = 'intruder'`).run();
      db.close();
    },
  };
}

test('a runtime whose lease is taken stops uploads, clean-ups, webhooks and manifest writes, serves commands, and resumes all of them when the lease is back', async () => {
  const dir = tempDir('lease');
  const dbPath = path.join(dir, 'hoist.db');
  const watched = path.join(dir, 'ingest');
  const delivered = path.join(dir, 'delivered');
  fs.mkdirSync(watched);
  fs.mkdirSync(delivered);
  const receiver = new WebhookReceiver();
  await receiver.start();
  await receiver.stop(); // its port is known; it is down until the lease is away

  const states: LeaseState[] = [];
  const rt = await openRuntime({
    dbPath,
    lease: { heartbeatMs: 250 },
    engine: {
      scheduler: { tickMs: 50, retry: { baseDelayMs: 50, maxDelayMs: 500 } },
      owed: { tickMs: 100 },
      webhooks: { retry: { baseDelayMs: 100, maxDelayMs: 300 } },
      mhl: { tickMs: 100, retryBaseMs: 100, retryMaxMs: 300, attempts: 1000 },
    },
    watcher: { batchSettleMs: 300, cleanupRetry: { baseDelayMs: 100, maxDelayMs: 300 } },
  });
  rt.on('state', (s) => states.push(s));
  try {
    assert.deepEqual(rt.state, { state: 'working' });
    assert.equal(rt.logPath, path.join(dir, 'hoist.log'), 'the log file sits beside the database');
    const { engine, api } = rt;
    // What a host's UI hears (over the bridge or IPC).
    const heard: string[] = [];
    api.onRunnerChanged((s) => heard.push(s.state));
    const dest = engine.upsertDestination({
      name: 'lease', endpoint: proxy.url, region: 'us-east-1', bucket, prefix: '', pathStyle: true, profile: null, storageClass: null, sse: null,
      sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: MiB, maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
    });
    const folder = await api.addFolder({ path: watched, destinationId: dest.id, stableMs: 200, after: 'move', moveTo: delivered, mhl: true, webhookUrl: receiver.url });

    // Owed work, each kind failing for now: the manifest's PutObject is refused (uploads are all
    // multipart here), the folder files move to is away (unmounted), the receiver is down.
    proxy.addFault({ operation: 'PutObject', action: { kind: 'status', status: 503, code: 'SlowDown' } });
    fs.renameSync(delivered, `${delivered}.away`);
    const a = await writeRandomFile(path.join(watched, 'A001.mov'), 6 * MiB);
    const jobA = await until('A uploaded', () => engine.listJobs({}).find((j) => j.key === 'A001.mov' && j.state === 'done'));
    await until('a manifest write refused', () => proxy.requests().some((r) => r.operation === 'PutObject' && r.faulted));
    await until('a clean-up owed', () => engine.events(jobA.id).some((e) => e.kind === 'cleanup-retry'));
    await until('a webhook delivery failed', () => engine.webhooks.outbox.all().some((o) => o.deliveredAt === null && o.attempts > 0));

    // A long upload on the wire when the lease goes.
    proxy.setBandwidth(4 * MiB);
    await writeRandomFile(path.join(watched, 'B001.mov'), 30 * MiB);
    const jobB = await until('B sending', () => proxy.requests().some((r) => r.operation === 'UploadPart' && r.path.endsWith('/B001.mov')) && engine.listJobs({}).find((j) => j.key === 'B001.mov'));

    // ---- another process takes the lease ----
    const other = intruder(dbPath);
    await until('the runtime to give up its work', () => rt.state.state === 'waiting');
    const away = Date.now();
    assert.deepEqual(rt.state, { state: 'waiting', pid: process.ppid, host: os.hostname() }, 'it says who holds the lease');
    assert.deepEqual(await api.runnerState(), rt.state, 'and so does the API the UI asks');
    const heardBefore = receiver.received.length;

    // Everything that failed could now succeed, and a new file arrives.
    proxy.clearFaults();
    proxy.setBandwidth(null);
    fs.renameSync(`${delivered}.away`, delivered);
    await receiver.start();
    const c = await writeRandomFile(path.join(watched, 'C001.mov'), 2 * MiB);
    // Commands still go to the database.
    assert.equal(await api.setPriority(jobB.id, 'high'), true);
    assert.equal(engine.getJob(jobB.id)!.priority, 'high');
    assert.equal((await api.listFolders()).length, 1);
    // Several rounds of every loop (heartbeat 250 ms, retries 100 to 500 ms, stable time 200 ms).
    await sleep(4000);

    assert.deepEqual(proxy.requests().filter((r) => r.at >= away).map((r) => `${r.operation} ${r.path}`), [], 'no request reached the bucket: no part, no manifest');
    assert.equal(receiver.received.length, heardBefore, 'no webhook was delivered');
    assert.ok(fs.existsSync(a), 'the delivered source was not moved');
    assert.deepEqual(fs.readdirSync(delivered), []);
    assert.ok(fs.existsSync(c));
    assert.equal(engine.listJobs({}).find((j) => j.key === 'C001.mov'), undefined, 'the new file was not taken in');
    assert.notEqual(engine.getJob(jobB.id)!.state, 'done');
    assert.ok(engine.listBatches({}).every((b) => b.state !== 'written'), 'no ASC MHL generation was written');
    assert.equal(rt.state.state, 'waiting');

    // ---- the lease comes back ----
    other.stop();
    await until('working again', () => rt.state.state === 'working');
    const back = Date.now();
    await until('B and C uploaded', () => ['B001.mov', 'C001.mov'].every((k) => engine.listJobs({}).some((j) => j.key === k && j.state === 'done')), 120_000);
    assert.ok(proxy.requests().some((r) => r.at >= back && r.operation === 'UploadPart'), 'parts were sent again');
    await until('A moved after delivery', () => fs.existsSync(path.join(delivered, 'A001.mov')) && !fs.existsSync(a));
    await until('the webhook heard every job', () => ['A001.mov', 'B001.mov', 'C001.mov'].every((k) => receiver.received.some((r) => r.kind === 'job.done' && (r.body.job as { key?: string }).key === k)));
    await until('the ASC MHL generation written', () => engine.listBatches({}).some((b) => b.state === 'written' && b.manifestKey !== null));
    assert.ok(proxy.requests().some((r) => r.at >= back && r.operation === 'PutObject' && !r.faulted && r.status === 200), 'the manifest was written');
    // (The first 'working' is announced once the watcher has started, which may be before or after the listener was added.)
    assert.match(states.map((s) => s.state).join(' '), /^(working )?waiting working$/, 'the state changes were announced');
    assert.match(heard.join(' '), /^(working )?waiting working$/, 'the UI was told');
    assert.deepEqual(await api.runnerState(), { state: 'working' });
    assert.equal(folder.id, (await api.listFolders())[0]!.id);
    const lines = fs.readFileSync(rt.logPath!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: number; area: string; msg: string });
    assert.ok(lines.some((l) => l.area === 'lease' && /lost the runner lease to pid/.test(l.msg)), 'the log file says the lease was lost');
  } finally {
    await rt.close();
    await receiver.stop();
  }
});
