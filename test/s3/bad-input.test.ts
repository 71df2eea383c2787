// Bad input, each with its code, its message, the job's state afterwards, and nothing lost or left in the bucket.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import { CreateBucketCommand, DeleteBucketPolicyCommand } from '@aws-sdk/client-s3';
import type { Job } from '../../shared/types.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { until } from '../support/engine.js';
import { donePartCount } from '../support/db-peek.js';
import { recordResult } from '../support/results.js';
import { ownerStatement, setBucketPolicy, statement } from '../support/rgw-user.js';
import { MiB, listUploads, s3Env, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, user, dir } = await s3Fixture('bad-input', { proxy: true, user: 'badinput' });

async function jobs(db: string): Promise<Job[]> {
  const r = await hoist(['--db', db, 'jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: Job[] }).jobs;
}

test('a bucket in another region cannot exist on this radosgw: CreateBucket with another location is refused', async () => {
  const err = await client.send(new CreateBucketCommand({ Bucket: `${bucket}-eu`, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })).then(() => undefined, (e: Error) => e);
  assert.equal(err?.name, 'InvalidLocationConstraint', 'if radosgw ever accepts it, write the s3.wrong-region test here');
});

test('PutObject denied by bucket policy mid-upload: s3.access-denied (UploadPart), job failed with its upload kept; allowed again, retry sends only the rest', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'denied.db');
  const file = await writeRandomFile(path.join(dir, 'denied.mov'), 60 * MiB);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const allow = statement('Allow', user.uid, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'], bucket);
  const owner = ownerStatement(bucket);
  const denyPut = statement('Deny', user.uid, ['s3:PutObject'], bucket);
  const policy = (...s: object[]) => setBucketPolicy(client, bucket, ...s);
  await policy(allow, owner);
  proxy.reset();
  proxy.setBandwidth(8 * MiB);
  try {
    const run = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'denied.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], { ...user.env, HOIST_PART_ATTEMPTS: '2' });
    await until('3 parts recorded', () => donePartCount(db) >= 3);
    await policy(allow, owner, denyPut);
    proxy.setBandwidth(null);
    const r = await run.done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /s3\.access-denied \(UploadPart\): Permission denied for UploadPart/);
    const [job] = await jobs(db);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.error?.code, 's3.access-denied');
    assert.ok(job!.uploadId, 'the upload is kept for a retry');
    const doneAtDenial = donePartCount(db);
    assert.ok(doneAtDenial >= 3 && doneAtDenial < 12);

    await policy(allow, owner);
    proxy.reset();
    assert.equal((await hoist(['--db', db, 'retry', '1'])).code, 0);
    const again = await hoist([...cli, 'run'], user.env);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(proxy.counts().UploadPart <= 12 - doneAtDenial, `only unrecorded parts were sent after the retry (${proxy.counts().UploadPart})`);
    assert.equal(await sha256OfObject(client, bucket, 'denied.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('denied-mid-upload', { what: 'bucket policy denies s3:PutObject (UploadPart) mid-upload, then allows it again', outcome: 's3.access-denied (UploadPart), job failed, upload and parts kept; hoist retry sends only the unrecorded parts; object whole' });
  } finally {
    proxy.setBandwidth(null);
    await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket })).catch(() => undefined);
  }
});

test('the source deleted mid-upload: source.missing, job failed, its upload aborted (nothing left to bill)', async () => {
  const db = path.join(dir, 'deleted.db');
  const file = await writeRandomFile(path.join(dir, 'deleted.mov'), 40 * MiB);
  proxy.reset();
  proxy.setBandwidth(8 * MiB);
  try {
    const run = startHoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'upload', file, '--bucket', bucket, '--key', 'deleted.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2']);
    await until('2 parts recorded', () => donePartCount(db) >= 2);
    fs.rmSync(file);
    proxy.setBandwidth(null);
    const r = await run.done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /source\.missing/);
    const [job] = await jobs(db);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.error?.code, 'source.missing');
    await until('the upload to be aborted', async () => (await listUploads(client, bucket)).every((u) => u.key !== 'deleted.mov'));
    recordResult('source-deleted', { what: 'source file deleted mid-upload', outcome: 'source.missing, job failed, multipart upload aborted' });
  } finally {
    proxy.setBandwidth(null);
  }
});

test('odd Unicode and a very long path: uploaded under that name; a key over 1,024 bytes is refused as limits.key-too-long', async () => {
  // NFD accents, an emoji, right-to-left text, a zero-width joiner, nested 12 deep (path over 1,000 bytes).
  const odd = 'Cafe\u0301 🎬 שלום\u200d ';
  let deep = dir;
  for (let i = 0; i < 12; i++) deep = path.join(deep, `${odd}${i}`.padEnd(80, 'x'));
  fs.mkdirSync(deep, { recursive: true });
  const file = await writeRandomFile(path.join(deep, `${odd}.mov`), 6 * MiB);
  assert.ok(Buffer.byteLength(file) > 1000);
  const db = path.join(dir, 'unicode.db');
  const r = await hoist(['--db', db, '--endpoint', s3Env().endpoint, '--path-style', 'upload', file, '--bucket', bucket, '--prefix', `u/${odd}`, '--single-put-threshold', '0', '--part-size', '5MiB']);
  assert.equal(r.code, 0, r.stderr);
  const [job] = await jobs(db);
  assert.equal(job!.sourcePath, file);
  assert.equal(await sha256OfObject(client, bucket, job!.key), await sha256OfFile(file));

  const long = await hoist(['--db', db, '--endpoint', s3Env().endpoint, '--path-style', 'upload', file, '--bucket', bucket, '--key', 'é'.repeat(600)]);
  assert.equal(long.code, 1);
  assert.match(long.stderr, /limits\.key-too-long/);
  assert.equal((await jobs(db)).length, 1, 'nothing was queued for the refused key');
  recordResult('unicode-paths', { what: 'NFD, emoji, RTL, ZWJ names 12 folders deep (path > 1,000 bytes); a 1,200-byte key', outcome: 'uploaded byte-identical under that key; the long key refused as limits.key-too-long before queueing' });
});

test('a file needing more parts than allowed at the configured size: the part size grows to fit; above the maximum object size it is refused', async () => {
  const file = path.join(dir, 'sparse.mov');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 64 * MiB); // sparse: 13 parts at 5 MiB, more than --max-parts 4
  const db = path.join(dir, 'parts.db');
  const cli = ['--db', db, '--endpoint', s3Env().endpoint, '--path-style'];
  const r = await hoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'sparse.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--max-parts', '4']);
  assert.equal(r.code, 0, r.stderr);
  const [job] = await jobs(db);
  assert.equal(job!.partCount, 4);
  assert.equal(job!.partSize, 16 * MiB);
  assert.equal(await sha256OfObject(client, bucket, 'sparse.mov'), await sha256OfFile(file));

  const big = await hoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'sparse2.mov', '--max-object-size', '32MiB']);
  assert.equal(big.code, 1);
  assert.match(big.stderr, /limits\.too-large/);
  recordResult('too-many-parts', { what: '64 MiB file at 5 MiB parts with --max-parts 4; and with --max-object-size 32MiB', outcome: 'part size raised to 16 MiB, 4 parts, object whole; over the maximum: limits.too-large, nothing queued' });
});

/** A TLS terminator on 127.0.0.1 with a fresh self-signed certificate, in front of the real server. */
async function startTlsFront(): Promise<{ url: string; caFile: string; close: () => void }> {
  const key = path.join(dir, 'tls.key');
  const caFile = path.join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const upstream = new URL(s3Env().endpoint);
  const server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(caFile) }, (socket) => {
    const up = net.connect(Number(upstream.port), upstream.hostname);
    socket.pipe(up).pipe(socket);
    socket.on('error', () => up.destroy());
    up.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, caFile, close: () => server.close() };
}

test('a self-signed endpoint: net.tls and the job kept; with AWS_CA_BUNDLE naming the certificate it uploads', async () => {
  const front = await startTlsFront();
  try {
    const db = path.join(dir, 'tls.db');
    const file = await writeRandomFile(path.join(dir, 'tls.mov'), 1 * MiB);
    const cli = ['--db', db, '--endpoint', front.url, '--path-style'];
    const bad = await hoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'tls.mov']);
    assert.equal(bad.code, 1);
    // The first request is the look at the key (--if-exists), before anything is sent.
    assert.match(bad.stderr, /net\.tls \(HeadObject\): The endpoint's TLS certificate cannot be verified/);
    const [job] = await jobs(db);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.error?.code, 'net.tls');
    assert.equal(job!.attempts, 1, 'not retried: a certificate does not fix itself');

    assert.equal((await hoist(['--db', db, 'retry', String(job!.id)])).code, 0);
    const good = await hoist([...cli, 'run'], { AWS_CA_BUNDLE: front.caFile });
    assert.equal(good.code, 0, good.stderr);
    assert.equal(await sha256OfObject(client, bucket, 'tls.mov'), await sha256OfFile(file));
    recordResult('tls', { what: 'https endpoint on 127.0.0.1 with a self-signed certificate', outcome: 'net.tls, not retried, job failed and kept; with AWS_CA_BUNDLE the retry uploads' });
  } finally {
    front.close();
  }
});
