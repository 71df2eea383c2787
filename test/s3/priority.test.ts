// Priorities (issue 8): a high-priority file added behind large normal uploads starts sending within
// the 5 seconds the issue names, without a part already on the wire being aborted, and a priority
// changed from another process takes effect live. The proxy throttles the link so the normal
// files take long; it also timestamps each request, which is what is measured.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from '../../src-main/engine/engine.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { testDbPath, testEngine, until } from '../support/engine.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

/** What the issue asks: "starts sending within 5 seconds". */
const ISSUE_LIMIT_MS = 5_000;

const { client, bucket, proxy } = await s3Fixture('priority', { proxy: true });

/** When the proxy first saw an UploadPart for this key. */
function firstUploadPartAt(key: string): number | undefined {
  return proxy.requests().find((r) => r.operation === 'UploadPart' && r.path === `/${bucket}/${key}`)?.at;
}

test('a file in a high-priority folder starts sending within 5 s behind large normal uploads; a priority raised elsewhere takes effect live; nothing on the wire is aborted', async () => {
  const dir = tempDir('priority');
  const dailies = path.join(dir, 'dailies');
  fs.mkdirSync(dailies);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, concurrency: 2, partSize: 5 * MiB, singlePutThreshold: MiB });
  const watcher = new FolderWatcher(engine);
  const other = new Engine({ dbPath: testDbPath(dir) }); // another process, as `hoist jobs priority` is
  engine.start();
  try {
    await watcher.start();
    await watcher.addFolder({ path: dailies, destinationId: dest.id, priority: 'high', stableMs: 300 });
    const normal = [];
    for (let i = 1; i <= 3; i++) normal.push(await writeRandomFile(path.join(dir, `render-${i}.mov`), 30 * MiB));
    proxy.setBandwidth(3 * MiB); // 90 MiB of normal work: half a minute
    const normalJobs = await engine.enqueue(normal, { destination: dest, prefix: 'renders' });
    await until('the lane to be full of normal parts', () => proxy.requests().filter((r) => r.operation === 'UploadPart').length >= 2);

    const daily = await writeRandomFile(path.join(dailies, 'A001_C001_daily.mov'), 6 * MiB);
    const addedAt = Date.now();
    const startedAt = await until('the daily to start sending', () => firstUploadPartAt('A001_C001_daily.mov'), 60_000);
    await until('the daily to arrive', () => engine.listJobs().find((j) => j.sourcePath === daily)?.state === 'done', 60_000);
    const low = await writeRandomFile(path.join(dir, 'low.mov'), 6 * MiB);
    const [lowJob] = await engine.enqueue([low], { destination: dest, key: 'low.mov', priority: 'low' });
    const raisedAt = Date.now();
    other.setPriority(lowJob!.id, 'high');
    const lowStartedAt = await until('the raised job to start sending', () => firstUploadPartAt('low.mov'), 60_000);
    const normalLeft = engine.listJobs({ ids: normalJobs.map((j) => j.id) }).filter((j) => j.state !== 'done').length;
    proxy.setBandwidth(null);
    await until('every job to finish', () => engine.listJobs().every((j) => j.state === 'done'), 120_000);

    process.stdout.write(`# high-priority daily: first UploadPart ${startedAt - addedAt} ms after the file was written (stable-for 300 ms); raised job: ${lowStartedAt - raisedAt} ms after the change\n`);
    assert.ok(startedAt - addedAt < ISSUE_LIMIT_MS, `the daily started ${startedAt - addedAt} ms after it was added`);
    assert.ok(lowStartedAt - raisedAt < ISSUE_LIMIT_MS, `the raised job started ${lowStartedAt - raisedAt} ms after the change`);
    assert.ok(normalLeft > 0, 'the normal uploads were still under way: the others did overtake them');
    const dailyJob = engine.listJobs().find((j) => j.sourcePath === daily)!;
    assert.deepEqual([dailyJob.priority, engine.getJob(lowJob!.id)!.priority], ['high', 'high']);
    for (const j of normalJobs) {
      assert.deepEqual(engine.parts(j.id).map((p) => p.sends), engine.parts(j.id).map(() => 1), `job ${j.id}: no part was aborted and sent again`);
    }
    assert.equal(await sha256OfObject(client, bucket, 'A001_C001_daily.mov'), await sha256OfFile(daily));
    assert.equal(await sha256OfObject(client, bucket, 'low.mov'), await sha256OfFile(low));
    assert.equal(await sha256OfObject(client, bucket, 'renders/render-1.mov'), await sha256OfFile(normal[0]!));
  } finally {
    proxy.setBandwidth(null);
    await watcher.stop();
    await engine.close();
    await other.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
