// Growing files within the destination's limits (issue 13, item 6): a recording is planned against
// the destination's maxParts and maxObjectSize (the growing code used to plan against 10,000 parts
// whatever the destination, and stop there even at the end, completing a long recording short and
// calling it verified); one that outgrows the destination is refused as it does, with nothing left
// in the bucket; and no CompleteMultipartUpload is ever sent for parts that do not cover the file.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { newJob } from '../../src-main/engine/store/job-store.js';
import type { PartRecord } from '../../src-main/engine/store/rows.js';
import { SETTLED_STATES } from '../../src-main/engine/engine.js';
import { sleep, testEngine, until } from '../support/engine.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { startWatching, untilQuiet } from '../support/watch.js';

const { client, bucket, proxy } = await s3Fixture('growlimits', { proxy: true });

/** What a recorder does: appends `mib` MiB of media, one MiB at a time, `pauseMs` apart. */
async function record(fh: fs.promises.FileHandle, mib: number, pauseMs: number): Promise<void> {
  for (let i = 0; i < mib; i++) {
    await fh.write(crypto.randomBytes(MiB));
    await sleep(pauseMs);
  }
}

/** A watched folder in growing mode at a destination with these limits, and a recorder's file in it, open for writing. */
async function recorder(label: string, name: string, dest: { prefix: string; maxParts?: number; maxObjectSize?: number }) {
  const dir = tempDir(label);
  const watched = path.join(dir, 'recorder');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, ...dest }, { growing: true, stableMs: 1500 });
  const file = path.join(watched, name);
  return { rig, file, fh: await fs.promises.open(file, 'w') };
}

/** The parts as a plan: numbered 1..N, each where the one before ended, from 0 to `size`; all but the last 5 MiB..5 GiB. */
function assertWholePlan(parts: readonly PartRecord[], size: number): void {
  let offset = 0;
  parts.forEach((p, i) => {
    assert.equal(p.partNumber, i + 1);
    assert.equal(p.offset, offset);
    if (i < parts.length - 1) assert.ok(p.length >= 5 * MiB && p.length <= 5 * 1024 * MiB, `part ${p.partNumber}: ${p.length} bytes`);
    offset += p.length;
  });
  assert.equal(offset, size, 'the parts end where the file ends');
}

test('a recording past the destination part limit (maxParts 8) is planned within it: later parts larger, the object whole', async () => {
  // 8 parts of the destination's 5 MiB hold 40 MiB; the recording is 60 MiB.
  const { rig, file, fh } = await recorder('growlimits-long', 'CAM_B_0007.mov', { prefix: 'long', maxParts: 8, maxObjectSize: 200 * MiB });
  try {
    await record(fh, 60, 120);
    const job = rig.engine.listJobs().find((j) => j.key === 'long/CAM_B_0007.mov');
    assert.ok(job, 'the upload began while the file was being written');
    const sentWhileGrowing = rig.engine.parts(job.id).filter((p) => p.state === 'done').length;
    await fh.close();

    const [done] = await rig.engine.waitFor([job.id]);
    assert.equal(done!.state, 'done', JSON.stringify(rig.engine.events(job.id)));
    assert.equal(done!.size, 60 * MiB);
    assert.equal(await sha256OfObject(client, bucket, 'long/CAM_B_0007.mov'), await sha256OfFile(file), 'the whole recording, byte for byte');
    const parts = rig.engine.parts(job.id);
    assert.ok(parts.length <= 8, `within the destination's 8 parts (${parts.length})`);
    assertWholePlan(parts, 60 * MiB);
    assert.ok(parts.some((p) => p.length > 5 * MiB), 'the parts planned later are larger than the destination part size');
    assert.ok(sentWhileGrowing >= 2, `parts still went out while the file was written (${sentWhileGrowing})`);
    assert.match(done!.etag ?? '', new RegExp(`-${parts.length}$`));
    await untilQuiet(rig, 'the watcher to settle');
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('growing-part-limit', {
      what: 'a 60 MiB recording (1 MiB every 120 ms) in a growing folder whose destination takes at most 8 parts (5 MiB part size, 200 MiB objects)',
      outcome: `${parts.length} parts of ${parts.map((p) => p.length / MiB).join(', ')} MiB, ${sentWhileGrowing} sent while it grew; object byte-identical, no upload left`,
    });
  } finally {
    await rig.stop();
  }
});

test('the destination allows fewer parts while a recording is sent: the parts not sent yet are planned again, larger, and the object is whole', async () => {
  const { rig, file, fh } = await recorder('growlimits-replan', 'CAM_D_0002.mov', { prefix: 'replan' });
  // Slower out than in, so that planned parts wait their turn.
  proxy.setBandwidth(3 * MiB);
  try {
    let written = 0;
    let recording = true;
    const recorder = (async () => {
      while (recording && written < 48) {
        await fh.write(crypto.randomBytes(MiB));
        written++;
        await sleep(100);
      }
    })();
    // Two parts waiting behind the two on the wire (concurrency 2): they wait their turn, not just a tick.
    const job = await until('parts planned and waiting', () => {
      const j = rig.engine.listJobs().find((x) => x.key === 'replan/CAM_D_0002.mov');
      return j && rig.engine.parts(j.id).filter((p) => p.state === 'pending').length >= 2 && j;
    }, 30_000);
    const { id: _id, credentials: _c, ...input } = rig.dest;
    rig.engine.upsertDestination({ ...input, maxParts: 8, maxObjectSize: 200 * MiB });
    await until('the recording to end', () => written >= 48, 60_000).finally(() => (recording = false));
    await recorder;
    await fh.close();
    proxy.setBandwidth(null);

    const [done] = await rig.engine.waitFor([job.id]);
    assert.equal(done!.state, 'done', JSON.stringify(rig.engine.events(job.id)));
    assert.equal(await sha256OfObject(client, bucket, 'replan/CAM_D_0002.mov'), await sha256OfFile(file));
    const parts = rig.engine.parts(job.id);
    assertWholePlan(parts, 48 * MiB);
    assert.ok(parts.length <= 8, `within the 8 parts now allowed (${parts.length})`);
    const replanned = rig.engine.events(job.id).find((e) => e.kind === 'parts-replanned');
    assert.ok(replanned, `the waiting parts were planned again: ${JSON.stringify(parts)}`);
    await untilQuiet(rig, 'the watcher to settle');
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('growing-replanned', {
      what: 'a 48 MiB recording sent at 3 MiB/s in 5 MiB parts; while parts wait, the destination is changed to at most 8 parts',
      outcome: `${replanned.message} Ended in ${parts.length} parts of ${parts.map((p) => p.length / MiB).join(', ')} MiB; object byte-identical, no upload left`,
    });
  } finally {
    proxy.setBandwidth(null);
    await rig.stop();
  }
});

test('a recording that outgrows the destination (maxObjectSize 24 MiB) is refused as limits.too-large as it does; no upload, no object', async () => {
  const { rig, file, fh } = await recorder('growlimits-big', 'CAM_C_0001.mov', { prefix: 'big', maxParts: 8, maxObjectSize: 24 * MiB });
  try {
    await record(fh, 20, 100);
    const job = rig.engine.listJobs().find((j) => j.key === 'big/CAM_C_0001.mov');
    assert.ok(job, 'the upload began while the file was being written');
    await record(fh, 20, 100);
    const settled = await until('the job to end', () => {
      const j = rig.engine.getJob(job.id)!;
      return SETTLED_STATES.includes(j.state) && j;
    }, 60_000);
    assert.equal(settled.state, 'failed', JSON.stringify(rig.engine.events(job.id)));
    assert.equal(settled.error?.code, 'limits.too-large');
    await record(fh, 4, 100);
    await fh.close();
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(rig.engine.getJob(job.id)!.state, 'failed', 'the refusal stands');
    assert.equal(rig.engine.listJobs().length, 1, 'no other upload was started for the file');
    assert.ok(rig.skipped.some((s) => s.path === file && s.reason === 'limits.too-large'), JSON.stringify(rig.skipped));
    await rig.engine.settleOwedAborts();
    assert.deepEqual(await listUploads(client, bucket), [], 'the upload was aborted');
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/CAM_C_0001.mov' })), 'no object');
    const failedAt = rig.engine.events(job.id).find((e) => e.code === 'limits.too-large');
    recordResult('growing-too-large', {
      what: 'a recording growing to 44 MiB (1 MiB every 100 ms) in a growing folder whose destination takes objects of at most 24 MiB in 8 parts',
      outcome: `limits.too-large once it passed 24 MiB (${failedAt?.message ?? ''}); the upload aborted, no object, no other upload started; reported as skipped once finished`,
    });
  } finally {
    await rig.stop();
  }
});

test('no Complete for recorded parts that do not cover the file: upload.plan-mismatch, nothing left; retry sends it whole', async () => {
  const dir = tempDir('growlimits-short');
  proxy.reset();
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, prefix: '' });
  try {
    const file = await writeRandomFile(path.join(dir, 'take.mov'), 12 * MiB);
    // As the engine stats a file (whole milliseconds, the inode as text).
    const st = fs.statSync(file, { bigint: true });
    const snapshot = { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
    // Job rows as the growing code of the previous release left them: the end cut short, and a part number missing.
    const short = engine.store.insertJob(newJob({ dest, sourcePath: file, key: 'short/take.mov', snapshot, plan: { mode: 'multipart', partSize: 5 * MiB } }), [
      { partNumber: 1, offset: 0, length: 5 * MiB },
      { partNumber: 2, offset: 5 * MiB, length: 5 * MiB },
    ]);
    const gap = engine.store.insertJob(newJob({ dest, sourcePath: file, key: 'gap/take.mov', snapshot, plan: { mode: 'multipart', partSize: 5 * MiB } }), [
      { partNumber: 1, offset: 0, length: 5 * MiB },
      { partNumber: 3, offset: 5 * MiB, length: 7 * MiB },
    ]);
    engine.start();
    const ended = await engine.waitFor([short.id, gap.id]);
    for (const j of ended) {
      assert.equal(j.state, 'failed', JSON.stringify(engine.events(j.id)));
      assert.equal(j.error?.code, 'upload.plan-mismatch');
    }
    assert.equal(proxy.counts().CompleteMultipartUpload, 0, 'no Complete was sent');
    await engine.settleOwedAborts();
    assert.deepEqual(await listUploads(client, bucket), [], 'both uploads aborted');
    for (const key of ['short/take.mov', 'gap/take.mov']) await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), `no object at ${key}`);

    // Planned afresh when refused: a retry sends the whole file.
    engine.retry(short.id);
    const [again] = await engine.waitFor([short.id]);
    assert.equal(again!.state, 'done', JSON.stringify(engine.events(short.id)));
    assertWholePlan(engine.parts(short.id), 12 * MiB);
    assert.equal(await sha256OfObject(client, bucket, 'short/take.mov'), await sha256OfFile(file));
    recordResult('complete-plan-mismatch', {
      what: 'job rows whose parts do not cover their 12 MiB file (the end cut short at 10 MiB; part 2 of 3 missing), as the previous growing code could leave them',
      outcome: 'upload.plan-mismatch for both before any CompleteMultipartUpload; uploads aborted, no object; hoist retry, planned afresh, uploads the whole file',
    });
  } finally {
    await engine.close();
  }
});
