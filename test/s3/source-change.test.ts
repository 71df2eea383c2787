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

for (const warm of [false, true]) {
  // With `warm`, a frame of the same folder goes first: the part worker then knows the folder is on a
  // local disk and makes the file's calls on its own thread (upload/local-folders.ts), the path's stat
  // after the send included; the first file of a folder goes through the threadpool.
  const label = warm ? 'after another of its folder (file calls on the worker thread)' : 'first of its folder (file calls through the threadpool)';
  test(`a small file rewritten in place during its one PutObject is caught after the send and sent again as the new content: ${label}`, async () => {
    // The PutObject's body is the bytes its MD5 was computed from (read once), so the server accepts it:
    // only the check after the send (the path's stat: same inode, new mtime) can see the change.
    const dir = tempDir(`changed-small-${warm}`);
    const file = await writeRandomFile(path.join(dir, 'frame.dpx'), 6 * MiB);
    proxy.setBandwidth(2 * MiB);
    const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 8 * MiB, integrity: 'md5' });
    try {
      if (warm) {
        const other = await writeRandomFile(path.join(dir, 'frame0.dpx'), 64 * 1024);
        const [w] = await engine.enqueue([other], { destination: dest, key: `changed-small-${warm}/frame0.dpx` });
        engine.start();
        assert.equal((await engine.waitFor([w!.id]))[0]!.state, 'done');
      }
      const [job] = await engine.enqueue([file], { destination: dest, key: `changed-small-${warm}/frame.dpx` });
      assert.equal(job!.mode, 'single');
      if (!warm) engine.start();
      await until('its PutObject on the wire', () => engine.progress().some((p) => p.jobId === job!.id && p.bytesSent > 0));
      const inode = fs.statSync(file).ino;
      // Rewritten through the same inode (an in-place save), with the mtime moved on for certain.
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 0);
      fs.closeSync(fd);
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      assert.equal(fs.statSync(file).ino, inode);
      const rewritten = await sha256OfFile(file);
      proxy.setBandwidth(null);
      const [final] = await engine.waitFor([job!.id]);
      assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
      assert.ok(engine.events(job!.id).some((e) => e.kind === 'source-changed'), 'the change was seen');
      assert.equal(await sha256OfObject(client, bucket, `changed-small-${warm}/frame.dpx`), rewritten, 'the object is the new file');
    } finally {
      proxy.setBandwidth(null);
      await engine.close();
    }
  });
}
