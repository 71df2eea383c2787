// Never free a source on stale evidence (issue 13, item 3), and the VersionId of a versioned bucket
// on the job (item 7), against the real server. A folder sends to two destinations; the second sits
// behind the fault proxy, closed until the test has done what another client would do to the
// first's object, so "between Complete and clean-up" is a fixed point, not a race: the clean-up of
// a file waits until every destination verified it. A plain S3 client then deletes or overwrites the
// first destination's object; the clean-up's HeadObject must find it and keep the source.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DeleteObjectCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Destination, Job } from '../../shared/types.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { testDbPath, testEngine, until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { startWatching, untilQuiet, writeText } from '../support/watch.js';
import { WebhookReceiver, type ReceivedHook } from '../support/webhook-receiver.js';

const { client, bucket, newBucket } = await s3Fixture('evidence');
const held = await newBucket('evidence-held');
const versioned = await newBucket('evidence-versioned');
await client.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));

interface Rig {
  engine: Engine;
  dests: Destination[];
  watcher: FolderWatcher;
  notices: string[];
  proxy: S3Proxy;
  /** The second destination comes up: its jobs finish, and the clean-ups they held back are owed. */
  release(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An engine whose folder sends to `first` (the server itself) and to a second bucket behind a proxy
 * that is down, so that no clean-up can happen until `release()`.
 */
async function heldRig(dir: string, first: string, webhookUrl: string): Promise<Rig & { folderId: number }> {
  let proxy = await startS3Proxy(s3Env().endpoint);
  const port = proxy.port;
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket: first, singlePutThreshold: 5 * MiB }, { retry: { baseDelayMs: 50, maxDelayMs: 300, jobAttempts: 100_000 } });
  const second = engine.upsertDestination({ ...dest, name: 'held', endpoint: proxy.url, bucket: held });
  engine.start();
  const watcher = new FolderWatcher(engine, { cleanupRetry: { baseDelayMs: 100, maxDelayMs: 300 } });
  const notices: string[] = [];
  watcher.on('notice', (n) => notices.push(n.message));
  await watcher.start();
  await proxy.close();
  const watched = path.join(dir, 'card');
  fs.mkdirSync(watched, { recursive: true });
  const folder = await watcher.addFolder({ path: watched, destinationId: dest.id, destinationIds: [dest.id, second.id], after: 'delete', stableMs: 300, webhookUrl });
  const rig = {
    engine,
    dests: [dest, second],
    watcher,
    notices,
    folderId: folder.id,
    get proxy() {
      return proxy;
    },
    async release() {
      proxy = await startS3Proxy(s3Env().endpoint, { port });
    },
    async stop() {
      await watcher.stop();
      await engine.close();
      await proxy.close();
    },
  };
  return rig;
}

/** Runs `fn` with a held rig sending to `first` and a webhook receiver, and stops both however it ends. */
async function withHeldRig(label: string, first: string, fn: (r: Rig, receiver: WebhookReceiver, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir(label);
  const receiver = new WebhookReceiver();
  await receiver.start();
  const r = await heldRig(dir, first, receiver.url);
  try {
    await fn(r, receiver, dir);
  } finally {
    await r.stop();
    await receiver.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

const jobOf = (engine: Engine, file: string, destinationId: number): Job | undefined =>
  engine.listJobs().filter((j) => j.sourcePath === file && j.destinationId === destinationId).at(-1);

const keptEvents = (receiver: WebhookReceiver, name: string): ReceivedHook[] =>
  receiver.received.filter((r) => r.kind === 'source.kept' && String((r.body.source as { path?: string } | undefined)?.path ?? '').endsWith(name));

test('an object deleted or overwritten by another client between Complete and clean-up keeps the source, flags the job and tells the webhook; an untouched file is freed as before; hoist retry sends it again and then frees it', () =>
  withHeldRig('evidence', bucket, async (r, receiver, dir) => {
    const watched = path.join(dir, 'card');
    const gone = await writeRandomFile(path.join(watched, 'A001_C001.mov'), 7 * MiB); // multipart
    const swapped = writeText(path.join(watched, 'A001_C002.wav'), 'the bytes Hoist sent');
    const untouched = writeText(path.join(watched, 'A001_C003.txt'), 'nobody touches this one');
    const [d1] = r.dests;
    await until('the first destination to verify all three', () => [gone, swapped, untouched].every((f) => jobOf(r.engine, f, d1!.id)?.state === 'done'));

    // Another client, between Complete and the clean-up: deletes one key, overwrites another with other bytes of the same size.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'A001_C001.mov' }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'A001_C002.wav', Body: 'the bytes Other sent' }));
    assert.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'A001_C002.wav' }))).ContentLength, fs.statSync(swapped).size, 'the same size: only the ETag tells');
    await r.release();

    await until('the second destination to verify all three', () => [gone, swapped, untouched].every((f) => jobOf(r.engine, f, r.dests[1]!.id)?.state === 'done'), 60_000);
    await until('the untouched file to be freed and the clean-ups to settle', () => !fs.existsSync(untouched) && r.watcher.idle, 60_000);
    assert.ok(fs.existsSync(gone), 'the source of the deleted object is kept');
    assert.ok(fs.existsSync(swapped), 'the source of the overwritten object is kept');
    const goneJob = jobOf(r.engine, gone, d1!.id)!;
    const swappedJob = jobOf(r.engine, swapped, d1!.id)!;
    assert.equal(goneJob.state, 'done', 'the job stays done: its upload did arrive');
    assert.equal(goneJob.flag?.code, 'cleanup.object-missing');
    assert.match(goneJob.flag!.message, /hoist retry \d+/);
    assert.equal(swappedJob.flag?.code, 'cleanup.object-changed');
    assert.match(swappedJob.flag!.message, /ETag/);
    assert.equal(jobOf(r.engine, untouched, d1!.id)!.flag, null);
    assert.equal(jobOf(r.engine, gone, r.dests[1]!.id)!.flag, null, 'the destination that still holds it is not flagged');
    const history = r.engine.events(goneJob.id);
    assert.ok(history.some((e) => e.kind === 'cleanup-kept' && e.code === 'cleanup.object-missing'), history.map((e) => `${e.kind} ${e.code}: ${e.message}`).join('\n'));
    assert.ok(r.notices.some((n) => /A001_C001\.mov is kept/.test(n)), r.notices.join('\n'));

    const [missing] = await until('the webhook to hear of the deleted object', () => keptEvents(receiver, 'A001_C001.mov').length > 0 && keptEvents(receiver, 'A001_C001.mov'));
    const objects = missing!.body.objects as Array<{ jobId: number; code: string; bucket: string; key: string; found: unknown }>;
    assert.deepEqual(objects.map((o) => [o.jobId, o.code, o.bucket, o.key, o.found]), [[goneJob.id, 'cleanup.object-missing', bucket, 'A001_C001.mov', null]]);
    assert.match(missing!.body.text, /A001_C001\.mov .*kept/);
    const [changed] = await until('the webhook to hear of the overwritten object', () => keptEvents(receiver, 'A001_C002.wav').length > 0 && keptEvents(receiver, 'A001_C002.wav'));
    assert.equal((changed!.body.objects as Array<{ code: string }>)[0]!.code, 'cleanup.object-changed');

    // What the flag says to do: hoist retry uploads it again; once verified everywhere the source goes.
    const sum = await sha256OfFile(gone);
    assert.equal(r.engine.retry(goneJob.id), true);
    await until('the re-sent file to be freed', () => !fs.existsSync(gone), 60_000);
    assert.equal(await sha256OfObject(client, bucket, 'A001_C001.mov'), sum);
    assert.equal(r.engine.getJob(goneJob.id)!.flag, null, 'the flag goes with the new upload');
    assert.ok(fs.existsSync(swapped), 'the other flagged file is still kept');
    recordResult('cleanup-evidence', {
      what: 'a watched folder with --after delete; between Complete and the clean-up a second S3 client deletes one object and overwrites another with other bytes of the same size; a third is left alone',
      outcome: `deleted: source kept, job flagged ${goneJob.flag!.code}, source.kept webhook; overwritten: kept, ${swappedJob.flag!.code}; untouched: freed; hoist retry re-sent the deleted one and then freed it`,
    });
  }));

test('a versioned bucket: the VersionId Complete and PutObject return is on the job, and a newer version written on top, or a delete marker, keeps the source', () =>
  withHeldRig('evidence-versioned', versioned, async (r, receiver, dir) => {
    const watched = path.join(dir, 'card');
    const topped = await writeRandomFile(path.join(watched, 'B001_C001.mov'), 6 * MiB); // multipart: Complete's VersionId
    const marked = writeText(path.join(watched, 'B001_C002.wav'), 'single PutObject'); // PutObject's VersionId
    const [d1] = r.dests;
    const done = await until('the versioned destination to verify both', () => {
      const jobs = [topped, marked].map((f) => jobOf(r.engine, f, d1!.id));
      return jobs.every((j) => j?.state === 'done') && (jobs as Job[]);
    });
    for (const [job, key] of [[done[0]!, 'B001_C001.mov'], [done[1]!, 'B001_C002.wav']] as const) {
      const head = await client.send(new HeadObjectCommand({ Bucket: versioned, Key: key }));
      assert.ok(head.VersionId, 'the bucket is versioned');
      assert.equal(job.versionId, head.VersionId, `${key}: the job records the version it wrote`);
    }

    // Another client writes a new version on top of one (other bytes, same size), and deletes the other (a delete marker).
    await writeRandomFile(path.join(dir, 'other.bin'), 6 * MiB);
    await client.send(new PutObjectCommand({ Bucket: versioned, Key: 'B001_C001.mov', Body: fs.readFileSync(path.join(dir, 'other.bin')) }));
    await client.send(new DeleteObjectCommand({ Bucket: versioned, Key: 'B001_C002.wav' }));
    await r.release();

    await until('the second destination to verify both', () => [topped, marked].every((f) => jobOf(r.engine, f, r.dests[1]!.id)?.state === 'done'), 60_000);
    await until('the clean-ups to settle', () => r.watcher.idle, 60_000);
    assert.ok(fs.existsSync(topped), 'the source under a newer version is kept');
    assert.ok(fs.existsSync(marked), 'the source under a delete marker is kept');
    const toppedJob = jobOf(r.engine, topped, d1!.id)!;
    const markedJob = jobOf(r.engine, marked, d1!.id)!;
    assert.equal(toppedJob.flag?.code, 'cleanup.object-changed');
    assert.match(toppedJob.flag!.message, new RegExp(`version ${done[0]!.versionId}`), 'the message names our version, still in the bucket');
    assert.equal(markedJob.flag?.code, 'cleanup.object-missing');
    // The command line shows both, as its JSON contract says (docs/cli.md).
    const db = testDbPath(dir);
    const one = JSON.parse((await hoist(['--db', db, 'job', String(toppedJob.id), '--json'])).stdout) as { job: Job };
    assert.deepEqual([one.job.versionId, one.job.flag?.code], [done[0]!.versionId, 'cleanup.object-changed']);
    const all = JSON.parse((await hoist(['--db', db, 'jobs', '--json'])).stdout) as { jobs: Job[] };
    assert.deepEqual(all.jobs.filter((j) => j.flag).map((j) => [j.id, j.flag!.code]).sort(), [[toppedJob.id, 'cleanup.object-changed'], [markedJob.id, 'cleanup.object-missing']].sort());
    assert.match((await hoist(['--db', db, 'jobs'])).stdout, new RegExp(`flagged cleanup\\.object-missing: source kept \\(hoist job ${markedJob.id}\\)`));
    await until('the webhook events', () => keptEvents(receiver, 'B001_C001.mov').length > 0 && keptEvents(receiver, 'B001_C002.wav').length > 0);
    const found = (keptEvents(receiver, 'B001_C001.mov')[0]!.body.objects as Array<{ expected: { versionId: string }; found: { versionId: string } }>)[0]!;
    assert.equal(found.expected.versionId, done[0]!.versionId);
    assert.notEqual(found.found.versionId, done[0]!.versionId);
    recordResult('cleanup-evidence-versioned', {
      what: 'a versioned bucket: a second S3 client writes a new version (other bytes, same size) on top of one delivered object and a delete marker on another, between Complete and the clean-up',
      outcome: `VersionId of Complete and of PutObject recorded on the jobs; new version on top: source kept, ${toppedJob.flag!.code}; delete marker: source kept, ${markedJob.flag!.code}; source.kept webhook for each`,
    });
  }));

test('VersionId: recorded for an upload and a server-side copy in a versioned bucket, none in an unversioned one', async () => {
  const dir = tempDir('evidence-version-ids');
  const watched = path.join(dir, 'ingest');
  for (const d of [watched, path.join(dir, 'v'), path.join(dir, 'u')]) fs.mkdirSync(d);
  const rig = await startWatching(path.join(dir, 'v'), watched, { endpoint: s3Env().endpoint, bucket: versioned, prefix: 'ids', singlePutThreshold: 5 * MiB });
  const plain = testEngine(path.join(dir, 'u'), { endpoint: s3Env().endpoint, bucket, singlePutThreshold: 5 * MiB });
  try {
    const file = await writeRandomFile(path.join(watched, 'C001.mov'), MiB);
    await until('the upload', () => rig.engine.listJobs().some((j) => j.key === 'ids/C001.mov' && j.state === 'done'));
    await untilQuiet(rig, 'the upload to settle');
    fs.renameSync(file, path.join(watched, 'C001-renamed.mov'));
    const copy = await until('the server-side copy', () => rig.engine.listJobs().find((j) => j.key === 'ids/C001-renamed.mov' && j.state === 'done'));
    assert.ok(rig.engine.events(copy.id).some((e) => e.kind === 'copy-started'), 'a server-side copy, not an upload');
    const head = await client.send(new HeadObjectCommand({ Bucket: versioned, Key: 'ids/C001-renamed.mov' }));
    assert.ok(head.VersionId);
    assert.equal(copy.versionId, head.VersionId, 'the copy records the version it made');

    plain.engine.start();
    const files = [await writeRandomFile(path.join(dir, 'small.bin'), MiB), await writeRandomFile(path.join(dir, 'big.bin'), 6 * MiB)];
    const jobs = await plain.engine.enqueue(files, { destination: plain.dest });
    const settled = await plain.engine.waitFor(jobs.map((j) => j.id));
    assert.deepEqual(settled.map((j) => [j.mode, j.state, j.versionId]), [['single', 'done', null], ['multipart', 'done', null]], 'an unversioned bucket gives no VersionId');
  } finally {
    await rig.stop();
    await plain.engine.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
