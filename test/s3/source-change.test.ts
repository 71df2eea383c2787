// Invariant 3: a source that changes or vanishes under an upload never produces a mixed object.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { doneParts, testEngine, until } from '../support/engine.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('source', { proxy: true });

test('a file rewritten mid-upload restarts its upload and ends as the new content, never a mix', async () => {
  const dir = tempDir('changed');
  const file = await writeRandomFile(path.join(dir, 'edit.mov'), 40 * MiB);
  const original = await sha256OfFile(file);
  proxy.setBandwidth(12 * MiB);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 0 });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key: 'changed/edit.mov' });
    engine.start();
    await until('2 parts done', () => doneParts(engine, job!.id).length >= 2);
    const firstUpload = engine.getJob(job!.id)!.uploadId;
    // An editor re-exports over the file while it uploads.
    await writeRandomFile(file + '.new', 40 * MiB);
    fs.renameSync(file + '.new', file);
    const rewritten = await sha256OfFile(file);
    assert.notEqual(rewritten, original);
    proxy.setBandwidth(null);
    const [final] = await engine.waitFor([job!.id]);
    assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
    assert.ok(engine.events(job!.id).some((e) => e.kind === 'source-changed'));
    assert.equal(await sha256OfObject(client, bucket, 'changed/edit.mov'), rewritten, 'the object is wholly the new file');
    // The first upload is settled with an Abort (invariant 4).
    await until('the first upload to be aborted', async () => !(await listUploads(client, bucket)).some((u) => u.uploadId === firstUpload));
  } finally {
    proxy.setBandwidth(null);
    await engine.close();
  }
});

test('a file deleted mid-upload fails with source.missing, completes nothing and leaves no upload behind', async () => {
  const dir = tempDir('deleted');
  const file = await writeRandomFile(path.join(dir, 'gone.mov'), 40 * MiB);
  proxy.setBandwidth(12 * MiB);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 0 });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key: 'deleted/gone.mov' });
    engine.start();
    await until('2 parts done', () => doneParts(engine, job!.id).length >= 2);
    fs.unlinkSync(file);
    proxy.setBandwidth(null);
    const [final] = await engine.waitFor([job!.id]);
    assert.equal(final!.state, 'failed');
    assert.equal(final!.error?.code, 'source.missing');
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'deleted/gone.mov' })), 'no object was completed');
    await until('the upload to be aborted', async () => !(await listUploads(client, bucket)).some((u) => u.key === 'deleted/gone.mov'));
    assert.ok(engine.getJob(job!.id), 'the job is kept, with its error, for the user to see');
  } finally {
    proxy.setBandwidth(null);
    await engine.close();
  }
});
