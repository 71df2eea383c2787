// The HoistApi over a real engine and the real local S3 server: the connection test names each
// missing permission, the lifecycle rule joins the bucket's rules without replacing them, the
// bucket's uploads are told apart (ours, orphans) and sized, and the queue pages and sorts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  CreateMultipartUploadCommand,
  GetBucketLifecycleConfigurationCommand,
  ListPartsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { HoistError } from '../../shared/errors.js';
import type { DestinationInput, JobProgress } from '../../shared/types.js';
import { EngineApi } from '../../src-main/engine/api.js';
import { Engine } from '../../src-main/engine/engine.js';
import { HOIST_LIFECYCLE_RULE_ID } from '../../src-main/engine/remote/lifecycle.js';
import { CredentialSource } from '../../src-main/engine/s3/connection.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { doneParts, testEngine, until } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, listUploads, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { MemorySecrets } from '../support/memory-secrets.js';

// Each test makes its own bucket (freshBucket); the fixture's user is the limited one.
const { client, user, newBucket: freshBucket } = await s3Fixture('api', { user: 'api-limited' });

function destinationInput(bucket: string, extra: Partial<DestinationInput> = {}): DestinationInput {
  return {
    name: `${bucket}-${crypto.randomBytes(3).toString('hex')}`, endpoint: s3Env().endpoint, region: 'us-east-1', bucket, prefix: '', pathStyle: true,
    profile: null, storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 1, singlePutThreshold: 0,
    maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null, ...extra,
  };
}

test('testConnection: every permission passes on a good destination, and the test upload is not left behind', async () => {
  const bucket = await freshBucket('api-conn');
  const { engine } = testEngine(tempDir('api-conn'), { endpoint: s3Env().endpoint, bucket });
  const api = new EngineApi(engine);
  try {
    const dest = await api.saveDestination(destinationInput(bucket, { prefix: 'shoot/' }));
    const checks = await api.testConnection(dest.id);
    assert.deepEqual(checks.map((c) => [c.permission, c.ok, c.code]), [
      ['PutObject', true, null],
      ['ListBucketMultipartUploads', true, null],
      ['ListMultipartUploadParts', true, null],
      ['AbortMultipartUpload', true, null],
      ['GetEncryptionConfiguration', true, null],
    ]);
    assert.match(checks[4]!.message, /No default encryption.*ETag is checked/s, 'radosgw answers GetBucketEncryption with no rule');
    assert.deepEqual(await listUploads(client, bucket), [], 'the test upload was aborted');

    const missing = await api.saveDestination(destinationInput(`no-such-bucket-${crypto.randomBytes(4).toString('hex')}`));
    const failed = await api.testConnection(missing.id);
    assert.equal(failed.length, 4);
    for (const c of failed) {
      assert.equal(c.ok, false, c.permission);
      assert.equal(c.code, 's3.no-such-bucket', c.permission);
      assert.match(c.message, /bucket does not exist/);
    }
  } finally {
    api.dispose();
    await engine.close();
  }
});

test('testConnection names the permissions a limited user lacks; saved credentials come before the default chain', async () => {
  const bucket = await freshBucket('api-limited');
  const uid = user.uid;
  const limited = { accessKeyId: user.env.AWS_ACCESS_KEY_ID, secretAccessKey: user.env.AWS_SECRET_ACCESS_KEY };
  const denyLists = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      { Effect: 'Deny', Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: ['s3:ListMultipartUploadParts'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      { Effect: 'Deny', Principal: { AWS: [`arn:aws:iam:::user/${uid}`] }, Action: ['s3:ListBucketMultipartUploads'], Resource: [`arn:aws:s3:::${bucket}`] },
    ],
  };
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(denyLists) }));

  const secrets = new MemorySecrets();
  // The process's own (full) credentials stay in the environment: only the saved ones may be used.
  const engine = new Engine({ dbPath: path.join(tempDir('api-limited'), 'hoist.db'), credentials: new CredentialSource(secrets) });
  const api = new EngineApi(engine, { secrets });
  try {
    const dest = await api.saveDestination(destinationInput(bucket), limited);
    assert.deepEqual(secrets.saved.get(dest.id), limited);
    const checks = await api.testConnection(dest.id);
    assert.deepEqual(checks.map((c) => [c.permission, c.ok, c.code]), [
      ['PutObject', true, null],
      ['ListBucketMultipartUploads', false, 's3.access-denied'],
      ['ListMultipartUploadParts', false, 's3.access-denied'],
      ['AbortMultipartUpload', true, null],
      ['GetEncryptionConfiguration', false, 's3.access-denied'],
    ]);
    assert.match(checks[4]!.message, /Uploads still work/, 'a refusal to read the default encryption is an ordinary answer');
    assert.match(checks[1]!.message, /ListMultipartUploads.*cannot be listed/s);
    assert.match(checks[2]!.message, /ListParts.*sent again/s);
    assert.deepEqual(await listUploads(client, bucket), [], 'the limited user could still abort its test upload');

    await api.saveDestination({ ...dest }, { accessKeyId: limited.accessKeyId, secretAccessKey: 'wrong-secret' });
    const wrong = await api.testConnection(dest.id);
    assert.deepEqual(wrong.map((c) => c.code), Array(4).fill('auth.invalid-credentials'), 'the saved (wrong) key was used, not the environment');

    await api.removeDestination(dest.id);
    assert.equal(secrets.saved.has(dest.id), false, 'removing a destination forgets its credentials');
  } finally {
    api.dispose();
    await engine.close();
  }
});

test('installLifecycleRule adds Hoist’s rule beside the bucket’s own, which survives; a second install replaces only Hoist’s', async () => {
  const bucket = await freshBucket('api-lifecycle');
  const { engine, dest } = testEngine(tempDir('api-lifecycle'), { endpoint: s3Env().endpoint, bucket });
  const api = new EngineApi(engine);
  const rules = async () => (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  try {
    assert.deepEqual(await api.installLifecycleRule(dest.id, 9), { rules: 1 }, 'a bucket without rules gets just Hoist’s');
    const existing = { ID: 'expire-logs', Status: 'Enabled' as const, Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } };
    await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [existing] } }));

    assert.deepEqual(await api.installLifecycleRule(dest.id, 7), { rules: 2 });
    const once = await rules();
    const theirs = once.find((r) => r.ID === 'expire-logs');
    assert.equal(theirs?.Expiration?.Days, 30, 'the existing rule survives');
    assert.equal(theirs?.Filter?.Prefix, 'logs/');
    assert.equal(once.find((r) => r.ID === HOIST_LIFECYCLE_RULE_ID)?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 7);

    assert.deepEqual(await api.installLifecycleRule(dest.id, 3), { rules: 2 });
    const twice = await rules();
    assert.equal(twice.length, 2, 'installing again does not add a second Hoist rule');
    assert.equal(twice.find((r) => r.ID === HOIST_LIFECYCLE_RULE_ID)?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 3);
    assert.equal(twice.find((r) => r.ID === 'expire-logs')?.Expiration?.Days, 30);
  } finally {
    api.dispose();
    await engine.close();
  }
});

test('listRemoteUploads tells ours from orphans with their parts and bytes; abortOrphans aborts only the orphans', async () => {
  const bucket = await freshBucket('api-remote');
  const dir = tempDir('api-remote');
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket, singlePutThreshold: 0, concurrency: 1 });
  const api = new EngineApi(engine, { remoteIntervalMs: 10 });
  const remoteChanges: number[] = [];
  const stop = api.onRemoteChanged((id) => remoteChanges.push(id));
  try {
    const file = await writeRandomFile(path.join(dir, 'live.mov'), 12 * MiB);
    const [job] = await engine.enqueue([file], { destination: dest, key: 'live/live.mov' });
    engine.start();
    await until('a part of the live job', () => doneParts(engine, job!.id).length >= 1);
    assert.equal(await api.pauseJob(job!.id), true);
    await until('the live job to pause', () => engine.progress().length === 0);
    const ours = engine.getJob(job!.id)!;

    const orphan = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'orphans/old.mov' }));
    await client.send(new UploadPartCommand({ Bucket: bucket, Key: 'orphans/old.mov', UploadId: orphan.UploadId!, PartNumber: 1, Body: Buffer.alloc(1000, 1) }));
    await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'orphans/empty.mov' }));

    const listed = await api.listRemoteUploads(dest.id);
    assert.equal(listed.length, 3);
    const mine = listed.find((u) => u.uploadId === ours.uploadId)!;
    assert.equal(mine.jobId, job!.id);
    // What the server holds, asked directly: a part cut off by the pause may have arrived unrecorded.
    const held = (await client.send(new ListPartsCommand({ Bucket: bucket, Key: ours.key, UploadId: ours.uploadId! }))).Parts ?? [];
    assert.ok(held.length >= ours.partsDone && held.length >= 1);
    assert.equal(mine.parts, held.length);
    assert.equal(mine.bytes, held.reduce((sum, p) => sum + (p.Size ?? 0), 0));
    const old = listed.find((u) => u.key === 'orphans/old.mov')!;
    assert.deepEqual([old.jobId, old.parts, old.bytes], [null, 1, 1000]);
    const empty = listed.find((u) => u.key === 'orphans/empty.mov')!;
    assert.deepEqual([empty.jobId, empty.parts, empty.bytes], [null, 0, 0]);
    assert.deepEqual((await api.listRemoteUploads(dest.id, 'orphans/')).map((u) => u.key).sort(), ['orphans/empty.mov', 'orphans/old.mov']);

    assert.deepEqual(await api.abortOrphans(dest.id, 7), { aborted: 0, kept: 3 }, 'nothing is a week old yet');
    assert.deepEqual(await api.abortOrphans(dest.id, 0), { aborted: 2, kept: 1 });
    assert.deepEqual((await listUploads(client, bucket)).map((u) => u.uploadId), [ours.uploadId]);
    await until('a remote-changed event', () => remoteChanges.includes(dest.id));

    await api.abortRemoteUpload(dest.id, ours.key, ours.uploadId!);
    assert.equal(engine.getJob(job!.id)!.state, 'cancelled', 'aborting a job’s upload cancels the job');
    assert.deepEqual(await listUploads(client, bucket), []);
  } finally {
    stop();
    api.dispose();
    await engine.close();
  }
});

test('listJobs pages, sorts and filters with a total; totals count the queue; destinations are guarded', async () => {
  const dir = tempDir('api-jobs');
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket: 'never-contacted' });
  const api = new EngineApi(engine);
  try {
    const sizes = [3000, 1000, 5000, 2000, 4000];
    const files = await Promise.all(sizes.map((size, i) => writeRandomFile(path.join(dir, `clip${i}.mov`), size)));
    const jobs = await engine.enqueue(files, { destination: dest });
    assert.equal(await api.pauseJob(jobs[4]!.id), true);

    const bySize = await api.listJobs({ sort: 'size', descending: true, limit: 2, offset: 1 });
    assert.equal(bySize.total, 5);
    assert.deepEqual(bySize.jobs.map((j) => j.size), [4000, 3000]);
    const paused = await api.listJobs({ states: ['paused'] });
    assert.deepEqual([paused.total, paused.jobs.map((j) => j.id)], [1, [jobs[4]!.id]]);
    const all = await api.listJobs({});
    assert.deepEqual(all.jobs.map((j) => j.id), jobs.map((j) => j.id), 'by id, ascending, by default');

    const totals = await api.totals();
    assert.deepEqual(totals.byState, { queued: 4, paused: 1 });
    assert.equal(totals.bytesTotal, 15_000);
    assert.equal(totals.bytesDone, 0);

    assert.equal(await api.setPriority(jobs[1]!.id, 'high'), true);
    assert.equal((await api.getJob(jobs[1]!.id))!.job.priority, 'high');
    const detail = (await api.getJob(jobs[0]!.id))!;
    assert.equal(detail.parts.length, 1);
    assert.equal(detail.history[0]!.kind, 'queued');

    await assert.rejects(api.saveDestination({ ...destinationInput('other'), name: dest.name }), /already exists/);
    await assert.rejects(api.saveDestination(destinationInput('other'), { accessKeyId: 'AKIA', secretAccessKey: 's' }), /keeps no credentials/);
    await assert.rejects(api.removeDestination(dest.id), /job\(s\) \d+, \d+, \d+, \d+, \d+ are not finished/);
    for (const j of jobs) await api.cancelJob(j.id);
    await api.removeDestination(dest.id);
    assert.deepEqual(await api.listDestinations(), []);
    assert.equal((await api.listJobs({})).total, 0, 'its finished jobs went with it');
  } finally {
    api.dispose();
    await engine.close();
  }
});

test('progress is coalesced: a burst of engine snapshots reaches a listener as its latest one; unsubscribing stops delivery', async () => {
  const { engine } = testEngine(tempDir('api-progress'), { endpoint: s3Env().endpoint, bucket: 'never-contacted' });
  const api = new EngineApi(engine);
  const received: JobProgress[][] = [];
  const snapshot = (bytesSent: number): JobProgress[] => [{ jobId: 1, state: 'running', bytesSent, size: 1000, partsDone: 0, partCount: 1, rate: 0, etaSeconds: null }];
  try {
    const stop = api.onProgress((p) => received.push(p));
    for (let sent = 1; sent <= 100; sent++) engine.emit('progress', snapshot(sent));
    await until('the coalesced snapshot', () => received.length > 0);
    assert.deepEqual(received, [snapshot(100)], 'one push, carrying the latest snapshot');

    stop();
    engine.emit('progress', snapshot(200));
    const other: JobProgress[][] = [];
    api.onProgress((p) => other.push(p));
    engine.emit('progress', snapshot(300));
    await until('a push to the remaining listener', () => other.length > 0);
    assert.equal(received.length, 1, 'the unsubscribed listener heard nothing more');
  } finally {
    api.dispose();
    await engine.close();
  }
});

test('a new destination whose credentials cannot be kept is not left half made', async () => {
  const refusing = new MemorySecrets();
  refusing.set = async () => {
    throw new Error('no keychain');
  };
  const engine = new Engine({ dbPath: path.join(tempDir('api-refusing'), 'hoist.db'), credentials: new CredentialSource(refusing) });
  const api = new EngineApi(engine, { secrets: refusing });
  try {
    await assert.rejects(api.saveDestination(destinationInput('kept-nowhere'), { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }), /no keychain/);
    assert.deepEqual(await api.listDestinations(), []);
  } finally {
    api.dispose();
    await engine.close();
  }
});

test('setFolderWebhook and setFolderPriority change a watched folder in place: same id, still watching, the next file takes both', async () => {
  const bucket = await freshBucket('api-folder');
  const dir = tempDir('api-folder');
  const watched = path.join(dir, 'Dailies');
  fs.mkdirSync(watched);
  const receiver = new WebhookReceiver();
  await receiver.start();
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket });
  const folders = new FolderWatcher(engine);
  const api = new EngineApi(engine, { folders });
  engine.start();
  await folders.start();
  try {
    const added = await api.addFolder({ path: watched, destinationId: dest.id, stableMs: 300 });
    assert.equal(added.priority, 'normal');
    assert.equal(added.webhookUrl, null);

    const loud = await api.setFolderWebhook(added.id, receiver.url);
    assert.equal(loud.webhookUrl, receiver.url);
    const urgent = await api.setFolderPriority(added.id, 'high');
    assert.deepEqual({ ...urgent, createdAt: added.createdAt }, { ...added, webhookUrl: receiver.url, priority: 'high' }, 'the same folder with only those two settings changed');
    assert.deepEqual((await api.listFolders()).map((f) => [f.id, f.priority, f.webhookUrl]), [[added.id, 'high', receiver.url]]);

    // Still watched (no remove and add): a file dropped now is queued at the new priority and reported to the new URL.
    await writeRandomFile(path.join(watched, 'A001_C001.mov'), 256 * 1024);
    const job = await until('its job', () => engine.listJobs().find((j) => j.key === 'A001_C001.mov'));
    assert.equal(job.priority, 'high');
    const hook = await until('its webhook event', () => receiver.received.find((r) => r.kind === 'job.done'));
    assert.equal((hook.body.job as { id: number }).id, job.id);

    const quiet = await api.setFolderWebhook(added.id, null);
    assert.equal(quiet.webhookUrl, null);
    await assert.rejects(api.setFolderWebhook(added.id, 'ftp://hooks.example.com/x'), (e: HoistError) => e.code === 'config.invalid' && /http:\/\/ or https:\/\//.test(e.message));
    await assert.rejects(api.setFolderPriority(added.id + 100, 'low'), (e: HoistError) => e.code === 'config.invalid' && /There is no watched folder/.test(e.message));
    await assert.rejects(api.setFolderWebhook(added.id + 100, receiver.url), /There is no watched folder/);
    assert.equal((await api.listFolders())[0]!.priority, 'high', 'a refused change changes nothing');
  } finally {
    api.dispose();
    await folders.stop();
    await engine.close();
    await receiver.stop();
  }
});
