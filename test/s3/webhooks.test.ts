// Webhooks of watched folders, against the real server: one event per job, delivered from the
// persistent outbox to a receiver that loses an answer, goes down, and comes back after a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { until } from '../support/engine.js';
import { s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { startWatching, untilQuiet } from '../support/watch.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { bucket } = await s3Fixture('hooks');

function eventsFor(receiver: WebhookReceiver, key: string) {
  return receiver.received.filter((r) => (r.body.job as { key?: string } | undefined)?.key === key);
}

function batchesIn(receiver: WebhookReceiver) {
  const seen = new Map<string, { jobIds: number[]; files: number; done: number; failed: number }>();
  for (const r of receiver.received) if (r.kind === 'batch.done') seen.set(r.id, r.body.batch as never);
  return [...seen.values()];
}

const SETTLE = { batchSettleMs: 500 };

test('one event per job and one per batch, each with a stable id: a lost answer is re-sent under the same id; a receiver down during the uploads gets every event after a restart', async () => {
  const dir = tempDir('hooks');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const receiver = new WebhookReceiver();
  await receiver.start();
  let rig = await startWatching(dir, watched, { endpoint: s3Env().endpoint, bucket, prefix: 'hooks' }, { webhookUrl: receiver.url }, SETTLE);
  try {

    await writeRandomFile(path.join(watched, 'A001_C001.mov'), 1024 * 1024);
    const [first] = await until('the first event', () => eventsFor(receiver, 'hooks/A001_C001.mov').length > 0 && eventsFor(receiver, 'hooks/A001_C001.mov'));
    assert.equal(first!.kind, 'job.done');
    assert.equal(first!.body.type, 'job.done');
    assert.equal(first!.body.id, first!.id, 'the body carries the same id as the header');
    const job = first!.body.job as Record<string, unknown>;
    assert.equal(job.bucket, bucket);
    assert.equal(job.size, 1024 * 1024);
    assert.equal(typeof job.durationSeconds, 'number');
    assert.equal(job.error, null);
    assert.match(first!.body.text, /A001_C001\.mov \(1 MiB\) arrived in s3:\/\/.+\/hooks\/A001_C001\.mov/);
    assert.match(String(job.hashes && (job.hashes as Record<string, string>).xxh64), /^[0-9a-f]{16}$/, 'the file hash travels with the event');
    // The folder goes idle: its batch of one is reported.
    const [batch] = await until('the first batch', () => batchesIn(receiver).length > 0 && batchesIn(receiver));
    assert.deepEqual(batch, { ...batch!, files: 1, done: 1, failed: 0, jobIds: [job.id as number] });

    // The receiver reads the next event and drops the connection: Hoist cannot know it arrived, so it sends it again.
    receiver.dropAnswers = 1;
    await writeRandomFile(path.join(watched, 'A001_C002.mov'), 256 * 1024);
    const twice = await until('the event and its repeat', () => eventsFor(receiver, 'hooks/A001_C002.mov').length >= 2 && eventsFor(receiver, 'hooks/A001_C002.mov'), 60_000);
    assert.equal(twice[0]!.id, twice[1]!.id, 'a repeat carries the id of the first attempt');
    assert.deepEqual(twice.map((r) => r.attempt).slice(0, 2), [1, 2]);

    await until('the second batch', () => batchesIn(receiver).length === 2);

    // The receiver goes away while two more files upload.
    await receiver.stop();
    await writeRandomFile(path.join(watched, 'A001_C003.mov'), 256 * 1024);
    await writeRandomFile(path.join(watched, 'A001_C004.mov'), 256 * 1024);
    await untilQuiet(rig, 'the uploads while the receiver is down');
    // One URL hears its events in order, so the later ones wait behind the first.
    const owed = await until('a failed delivery attempt', () => {
      const undelivered = rig.engine.webhooks.outbox.all().filter((o) => o.deliveredAt === null && o.kind !== 'batch.done');
      return undelivered.length === 2 && undelivered[0]!.attempts > 0 && undelivered;
    });
    assert.match(owed[0]!.lastError ?? '', /ECONNREFUSED/, 'the outbox says why');
    assert.equal(owed[1]!.attempts, 0, 'the later event waits for the earlier one');
    await rig.stop();

    // Hoist restarts, then the receiver comes back on its address: the events owed are delivered.
    rig = await startWatching(dir, watched, { endpoint: s3Env().endpoint, bucket, prefix: 'hooks' }, {}, SETTLE);
    await receiver.start();
    await until('the events owed', () => eventsFor(receiver, 'hooks/A001_C003.mov').length > 0 && eventsFor(receiver, 'hooks/A001_C004.mov').length > 0, 90_000);
    const jobIds = rig.engine.listJobs().map((j) => j.id).sort((a, b) => a - b);
    assert.equal(jobIds.length, 4);
    for (const key of ['A001_C001', 'A001_C002', 'A001_C003', 'A001_C004']) {
      assert.equal(new Set(eventsFor(receiver, `hooks/${key}.mov`).map((r) => r.id)).size, 1, `${key}: one event id however often it was sent`);
    }
    // Every job is in exactly one reported batch (the last two may share one or not, as they settled).
    const batches = await until('every job in a batch', () => {
      const b = batchesIn(receiver);
      return b.flatMap((x) => x.jobIds).length === 4 && b;
    }, 60_000);
    assert.deepEqual(batches.flatMap((b) => b.jobIds).sort((a, b) => a - b), jobIds);
    assert.ok(batches.every((b) => b.failed === 0 && b.done === b.jobIds.length));
    assert.equal(receiver.ids.length, 4 + batches.length, 'one event id per job and per batch');
    await until('nothing owed', () => rig.engine.webhooks.outbox.undeliveredCount() === 0);
  } finally {
    await rig.stop();
    await receiver.stop();
  }
});

test('a job that fails sends job.failed with its error code and a readable text', async () => {
  const dir = tempDir('hooks-failed');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const receiver = new WebhookReceiver();
  await receiver.start();
  const rig = await startWatching(dir, watched, { endpoint: s3Env().endpoint, bucket: `${bucket}-missing` }, { webhookUrl: receiver.url }, SETTLE);
  try {
    await writeRandomFile(path.join(watched, 'B002_C001.mxf'), 64 * 1024);
    const [event, batch] = await until('the failure event and its batch', () => receiver.received.length > 1 && receiver.received, 60_000);
    assert.equal(event!.kind, 'job.failed');
    assert.equal(batch!.kind, 'batch.done', 'a failed job settles its batch');
    assert.match(batch!.body.text, /1 file .* 0 arrived .*1 failed \(B002_C001\.mxf\)/);
    const job = event!.body.job as { error: { code: string; operation: string | null } };
    assert.equal(job.error.code, 's3.no-such-bucket');
    assert.equal(job.error.operation, 'PutObject');
    assert.match(event!.body.text, /B002_C001\.mxf failed .*s3\.no-such-bucket/);
  } finally {
    await rig.stop();
    await receiver.stop();
  }
});

test('a folder that moves or deletes its delivered files still reports them: the clean-up retires the file records only after their events are queued', async () => {
  for (const after of ['delete', 'move'] as const) {
    const dir = tempDir(`hooks-${after}`);
    const watched = path.join(dir, 'ingest');
    const delivered = path.join(dir, 'delivered');
    fs.mkdirSync(watched);
    fs.mkdirSync(delivered);
    const receiver = new WebhookReceiver();
    await receiver.start();
    const rig = await startWatching(dir, watched, { endpoint: s3Env().endpoint, bucket, prefix: `hooks-${after}` }, { webhookUrl: receiver.url, after, moveTo: after === 'move' ? delivered : null }, SETTLE);
    try {
      const file = await writeRandomFile(path.join(watched, 'C003_C001.mov'), 256 * 1024);
      await until(`the file ${after}d after delivery`, () => !fs.existsSync(file));
      const [event] = await until(`job.done of the ${after}d file`, () => eventsFor(receiver, `hooks-${after}/C003_C001.mov`).length > 0 && eventsFor(receiver, `hooks-${after}/C003_C001.mov`), 30_000);
      assert.equal(event!.kind, 'job.done');
      const [batch] = await until('its batch', () => batchesIn(receiver).length > 0 && batchesIn(receiver), 30_000);
      assert.equal(batch!.files, 1, `${after}: the batch counts the file`);
    } finally {
      await rig.stop();
      await receiver.stop();
    }
  }
});
