// Renames and moves inside a watched folder become server-side copies: no byte is uploaded again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { until } from '../support/engine.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { listKeys, startWatching, untilQuiet } from '../support/watch.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('rename', { proxy: true });

const uploads = () => proxy.counts().UploadPart + proxy.counts().PutObject;

test('renaming an uploaded 200 MB file gives the new key with zero UploadPart requests', async () => {
  const dir = tempDir('rename');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'big', concurrency: 4 });
  try {
    const file = await writeRandomFile(path.join(watched, 'A001_C007.mov'), 200 * 1000 * 1000);
    const sha = await sha256OfFile(file);
    await until('the upload', () => rig.engine.listJobs().some((j) => j.key === 'big/A001_C007.mov' && j.state === 'done'), 120_000);
    await untilQuiet(rig, 'the upload to settle');
    assert.ok(proxy.counts().UploadPart > 0, 'the first time, the bytes were uploaded');

    proxy.reset();
    fs.mkdirSync(path.join(watched, 'selects'));
    fs.renameSync(file, path.join(watched, 'selects', 'A001_C007 hero.mov'));
    await until('the renamed key', async () => (await listKeys(client, bucket)).includes('big/selects/A001_C007 hero.mov'), 60_000);
    await untilQuiet(rig, 'the copy to settle');
    assert.equal(proxy.counts().UploadPart, 0, 'zero UploadPart');
    assert.equal(proxy.counts().PutObject, 0);
    assert.equal(await sha256OfObject(client, bucket, 'big/selects/A001_C007 hero.mov'), sha);
    const copy = rig.engine.listJobs().find((j) => j.key === 'big/selects/A001_C007 hero.mov')!;
    assert.equal(copy.state, 'done');
    assert.equal(copy.bytesDone, 200 * 1000 * 1000, 'the copy job shows the whole size as done');
    assert.ok(rig.engine.events(copy.id).some((e) => e.kind === 'copy-started' && /server-side/.test(e.message)));
    assert.ok((await listKeys(client, bucket)).includes('big/A001_C007.mov'), 'the old key stays: nothing is deleted from the bucket');
    assert.ok(rig.activity.some((a) => a.action === 'copied' && a.fromKey === 'big/A001_C007.mov'));
  } finally {
    await rig.stop();
    for (const key of ['big/A001_C007.mov', 'big/selects/A001_C007 hero.mov']) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('above the copy threshold a rename is copied as parallel UploadPartCopy ranges', async () => {
  const dir = tempDir('rename-parts');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'parts' }, {}, { copy: { multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 3 } });
  try {
    const file = await writeRandomFile(path.join(watched, 'clip.mxf'), 23 * MiB + 3);
    await until('the upload', () => rig.engine.listJobs().some((j) => j.key === 'parts/clip.mxf' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the upload to settle');
    proxy.reset();
    const moved = path.join(watched, 'clip-renamed.mxf');
    fs.renameSync(file, moved);
    await until('the copy', () => rig.engine.listJobs().some((j) => j.key === 'parts/clip-renamed.mxf' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the copy to settle');
    assert.equal(proxy.counts().UploadPartCopy, 5);
    assert.equal(uploads(), 0);
    const job = rig.engine.listJobs().find((j) => j.key === 'parts/clip-renamed.mxf')!;
    assert.equal(job.mode, 'multipart');
    assert.equal(job.partsDone, 5);
    assert.match(job.etag ?? '', /-5$/);
    assert.equal(await sha256OfObject(client, bucket, 'parts/clip-renamed.mxf'), await sha256OfFile(moved));
  } finally {
    await rig.stop();
  }
});

test('a rename whose old object is gone from the bucket is uploaded instead, and says why', async () => {
  const dir = tempDir('rename-gone');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'gone' });
  try {
    const file = await writeRandomFile(path.join(watched, 'take1.wav'), 3 * MiB);
    await until('the upload', () => rig.engine.listJobs().some((j) => j.key === 'gone/take1.wav' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the upload to settle');
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone/take1.wav' }));
    const moved = path.join(watched, 'take2.wav');
    fs.renameSync(file, moved);
    await until('the new key', async () => (await listKeys(client, bucket)).includes('gone/take2.wav'), 60_000);
    await untilQuiet(rig, 'the fallback upload to settle');
    const job = rig.engine.listJobs().find((j) => j.key === 'gone/take2.wav')!;
    assert.equal(job.state, 'done');
    assert.ok(rig.engine.events(job.id).some((e) => e.kind === 'copy-failed' && /uploaded instead/.test(e.message)));
    assert.equal(await sha256OfObject(client, bucket, 'gone/take2.wav'), await sha256OfFile(moved));
  } finally {
    await rig.stop();
  }
});

test('a copy of an uploaded file (same size and mtime, another inode) is copied server-side once its bytes match', async () => {
  const dir = tempDir('rename-dup');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'dup' });
  try {
    const file = await writeRandomFile(path.join(watched, 'master.mov'), 7 * MiB);
    await until('the upload', () => rig.engine.listJobs().some((j) => j.key === 'dup/master.mov' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the upload to settle');
    proxy.reset();
    // `cp -p` to another disk and back: new inode, same bytes and mtime.
    const copy = path.join(watched, 'backup', 'master copy.mov');
    fs.mkdirSync(path.dirname(copy));
    execFileSync('cp', ['-p', file, copy]);
    await until('the copy', () => rig.engine.listJobs().some((j) => j.key === 'dup/backup/master copy.mov' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the copy to settle');
    assert.equal(uploads(), 0, 'no byte uploaded again');
    assert.ok(rig.activity.some((a) => a.action === 'copied' && a.fromKey === 'dup/master.mov'));
    assert.equal(await sha256OfObject(client, bucket, 'dup/backup/master copy.mov'), await sha256OfFile(copy));
  } finally {
    await rig.stop();
  }
});
