// Growing mode: parts go out while a recorder writes, and a header rewritten at the end is re-sent.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sleep, until } from '../support/engine.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir } from '../support/s3.js';
import { startWatching, untilQuiet } from '../support/watch.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('growing', { proxy: true });

test('a growing file is sent while it is written; its rewritten header is re-sent; it ends byte-identical', async () => {
  const dir = tempDir('growing');
  const watched = path.join(dir, 'recorder');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'rec' }, { growing: true, stableMs: 1500 });
  try {
    const file = path.join(watched, 'CAM_A_0001.mov');
    const fh = await fs.promises.open(file, 'w');
    // A recorder reserves the header, appends media as it comes, and writes the real header last.
    await fh.write(Buffer.alloc(64 * 1024));
    for (let i = 0; i < 30; i++) {
      await fh.write(crypto.randomBytes(MiB));
      await sleep(250);
    }
    const job = rig.engine.listJobs().find((j) => j.key === 'rec/CAM_A_0001.mov');
    assert.ok(job, 'the upload began while the file was being written');
    const partsSentBeforeEnd = rig.engine.parts(job.id).filter((p) => p.state === 'done').length;
    assert.ok(partsSentBeforeEnd >= 1, `at least one part was sent before the writer finished (${partsSentBeforeEnd})`);
    await fh.write(crypto.randomBytes(64 * 1024), 0, 64 * 1024, 0);
    await fh.write(crypto.randomBytes(300 * 1024));
    await fh.close();

    const [done] = await rig.engine.waitFor([job.id]);
    assert.equal(done!.state, 'done', JSON.stringify(rig.engine.events(job.id)));
    assert.equal(done!.size, 64 * 1024 + 30 * MiB + 300 * 1024);
    assert.equal(await sha256OfObject(client, bucket, 'rec/CAM_A_0001.mov'), await sha256OfFile(file), 'byte-identical, header included');
    const parts = rig.engine.parts(job.id);
    assert.deepEqual(parts.filter((p) => p.sends > 1).map((p) => p.partNumber), [1], 'only the part whose bytes changed was sent again');
    const history = rig.engine.events(job.id).map((e) => e.kind);
    assert.ok(history.includes('grown'));
    assert.ok(history.includes('parts-changed'));
    assert.match(done!.etag ?? '', new RegExp(`-${parts.length}$`));
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(rig.engine.listJobs().length, 1, 'one job for the whole recording');
    assert.deepEqual(await listUploads(client, bucket), []);
  } finally {
    await rig.stop();
  }
});

test('a file that stops growing below one part is uploaded as an ordinary file', async () => {
  const dir = tempDir('growing-small');
  const watched = path.join(dir, 'recorder');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'small' }, { growing: true, stableMs: 800 });
  try {
    const file = path.join(watched, 'audio.wav');
    const fh = await fs.promises.open(file, 'w');
    for (let i = 0; i < 4; i++) {
      await fh.write(crypto.randomBytes(256 * 1024));
      await sleep(200);
    }
    await fh.close();
    await until('the upload', () => rig.engine.listJobs().find((j) => j.state === 'done'), 30_000);
    await untilQuiet(rig, 'the watcher to settle');
    const [job] = rig.engine.listJobs();
    assert.equal(job!.mode, 'single');
    assert.equal(await sha256OfObject(client, bucket, 'small/audio.wav'), await sha256OfFile(file));
  } finally {
    await rig.stop();
  }
});

test('a grown file that changes again before its upload completes ends as its final content', async () => {
  const dir = tempDir('growing-again');
  const watched = path.join(dir, 'recorder');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'again' }, { growing: true, stableMs: 800 });
  try {
    const file = path.join(watched, 'take.mov');
    const fh = await fs.promises.open(file, 'w');
    for (let i = 0; i < 12; i++) {
      await fh.write(crypto.randomBytes(MiB));
      await sleep(150);
    }
    await fh.close();
    // Slow enough that the last parts are still on the wire when the file changes again.
    proxy.setBandwidth(2 * MiB);
    await until('the file to be seen as grown', () => rig.activity.some((a) => a.action === 'grown'), 30_000);
    fs.appendFileSync(file, crypto.randomBytes(MiB));
    proxy.setBandwidth(null);
    await until('the final content in the bucket', async () => {
      const jobs = rig.engine.listJobs();
      return jobs.length > 0 && jobs.every((j) => j.state === 'done') && (await sha256OfObject(client, bucket, 'again/take.mov')) === (await sha256OfFile(file));
    }, 60_000);
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(await sha256OfObject(client, bucket, 'again/take.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), [], 'every upload was completed or aborted');
  } finally {
    proxy.setBandwidth(null);
    await rig.stop();
  }
});

test('stopping the watcher while a file grows parks its upload; the next start resumes and finishes it', async () => {
  const dir = tempDir('growing-restart');
  const watched = path.join(dir, 'recorder');
  fs.mkdirSync(watched);
  const s3 = { endpoint: proxy.url, bucket, prefix: 'restart' };
  const file = path.join(watched, 'long take.mov');
  const fh = await fs.promises.open(file, 'w');
  let rig = await startWatching(dir, watched, s3, { growing: true, stableMs: 1000 });
  let jobId: number;
  try {
    // The recorder keeps writing until the watcher is stopped, so a slow machine cannot see the take as finished first.
    let recording = true;
    const recorder = (async () => {
      while (recording) {
        await fh.write(crypto.randomBytes(MiB));
        await sleep(100);
      }
    })();
    try {
      jobId = (await until('a part sent while growing', () => rig.engine.listJobs().find((j) => j.partsDone >= 1), 30_000)).id;
      await rig.watcher.stop();
    } finally {
      recording = false;
      await recorder;
    }
    assert.equal(rig.engine.getJob(jobId)!.state, 'paused', 'parked, so that `hoist run` does not wait on it');
  } finally {
    await rig.stop();
  }
  // The recorder goes on while Hoist is stopped, then finishes.
  for (let i = 0; i < 4; i++) await fh.write(crypto.randomBytes(MiB));
  await fh.close();
  rig = await startWatching(dir, watched, s3, { growing: true, stableMs: 1000 });
  try {
    const [done] = await rig.engine.waitFor([jobId]);
    assert.equal(done!.state, 'done', JSON.stringify(rig.engine.events(jobId)));
    assert.ok(rig.engine.events(jobId).some((e) => e.kind === 'watch-stopped'), 'it was parked while no watcher ran');
    assert.equal(await sha256OfObject(client, bucket, 'restart/long take.mov'), await sha256OfFile(file));
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(rig.engine.listJobs().length, 1);
  } finally {
    await rig.stop();
  }
});
