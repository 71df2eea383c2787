// Clean-up after verified delivery (issue 8), in process against the real S3 server: move keeps the
// relative path (across file systems too), a move that fails is retried with a back-off that
// survives a restart and never loses the file, a source changed before every destination verified
// it is not touched until the new version is verified everywhere, and configurations that would
// upload moved files again, or take files another folder still sends, are refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Destination } from '../../shared/types.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { SOURCE_CLEANUP, cleanupSubject } from '../../src-main/engine/store/cleanup-store.js';
import type { Db } from '../../src-main/engine/store/db.js';
import { OwedWorkStore, type OwedItem } from '../../src-main/engine/store/owed-store.js';
import type { JobRecord } from '../../src-main/engine/store/job-store.js';
import { etagVerified } from '../../src-main/engine/folders/cleanup.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import type { FileActivity } from '../../src-main/engine/folders/ingest.js';
import { testEngine, until } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { writeText } from '../support/watch.js';

const { client, bucket, newBucket } = await s3Fixture('cleanup');
const bucket2 = await newBucket('cleanup-2');

interface Rig {
  engine: Engine;
  dests: Destination[];
  watcher: FolderWatcher;
  activity: FileActivity[];
  notices: string[];
  stop(): Promise<void>;
}

/** An engine with a destination per endpoint given, and a started watcher (whose clean-up retries fast). */
async function rig(dir: string, endpoints: Array<{ endpoint: string; bucket: string }>): Promise<Rig> {
  const { engine, dest } = testEngine(dir, { ...endpoints[0]!, singlePutThreshold: 5 * MiB }, { retry: { baseDelayMs: 50, maxDelayMs: 300, jobAttempts: 100_000 } });
  const dests = [dest, ...endpoints.slice(1).map((e, i) => engine.upsertDestination({ ...dest, name: `second-${i}`, ...e }))];
  engine.start();
  const watcher = new FolderWatcher(engine, { cleanupRetry: { baseDelayMs: 100, maxDelayMs: 300 } });
  const activity: FileActivity[] = [];
  const notices: string[] = [];
  watcher.on('file', (a) => activity.push(a));
  watcher.on('notice', (n) => notices.push(n.message));
  await watcher.start();
  return {
    engine,
    dests,
    watcher,
    activity,
    notices,
    async stop() {
      await watcher.stop();
      await engine.close();
    },
  };
}

/** The clean-up owed for a file (its attempts and last error), as the database has it. */
function owedCleanup(db: Db, folderId: number, relPath: string): OwedItem | undefined {
  return new OwedWorkStore(db).owed(SOURCE_CLEANUP, cleanupSubject(folderId, relPath));
}

function history(engine: Engine, job: JobRecord | undefined): string[] {
  return job ? engine.events(job.id).map((e) => `${e.kind}: ${e.message}`) : [];
}

/** A folder on another file system than the watched one, when this machine has one (tmpfs at /dev/shm). */
function otherFileSystem(than: string): string | null {
  const shm = '/dev/shm';
  if (!fs.existsSync(shm) || fs.statSync(shm).dev === fs.statSync(than).dev) return null;
  return fs.mkdtempSync(path.join(shm, 'hoist-moved-'));
}

test('--after move keeps the relative path, across file systems too; a move that fails is retried with back-off, after a restart as well, and the file is never lost', async (t) => {
  const dir = tempDir('move');
  const watched = path.join(dir, 'card');
  fs.mkdirSync(watched);
  const moveTo = otherFileSystem(dir);
  if (!moveTo) return t.skip('no second file system (tmpfs at /dev/shm) on this machine');
  const blocked = path.join(moveTo, 'A002');
  fs.writeFileSync(blocked, 'a file where the folder A002 should go');
  let r = await rig(dir, [{ endpoint: s3Env().endpoint, bucket }]);
  try {
    const folder = await r.watcher.addFolder({ path: watched, destinationId: r.dests[0]!.id, after: 'move', moveTo, stableMs: 300 });
    fs.mkdirSync(path.join(watched, 'A001'));
    const clip = await writeRandomFile(path.join(watched, 'A001', 'C001.mov'), 7 * MiB);
    const other = writeText(path.join(watched, 'A002', 'C002.wav'), 'second clip');
    const sums = [await sha256OfFile(clip), await sha256OfFile(other)];
    const mtime = fs.statSync(clip).mtimeMs;
    await until('the first clip to be moved', () => fs.existsSync(path.join(moveTo, 'A001', 'C001.mov')) && !fs.existsSync(clip));
    assert.equal(await sha256OfFile(path.join(moveTo, 'A001', 'C001.mov')), sums[0], 'the moved copy holds the same bytes');
    assert.ok(Math.abs(fs.statSync(path.join(moveTo, 'A001', 'C001.mov')).mtimeMs - mtime) < 0.01, 'and keeps its modification time');
    assert.equal(await sha256OfObject(client, bucket, 'A001/C001.mov'), sums[0]);
    const clipJob = r.engine.listJobs().find((j) => j.sourcePath === clip);
    assert.ok(history(r.engine, clipJob).some((h) => /^source-moved: Moved the source file to .*C001\.mov \(copied across file systems, verified against the ETag, then removed\)/.test(h)), history(r.engine, clipJob).join('\n'));

    const owed = await until('the blocked move to be retried', () => (owedCleanup(r.engine.store.db, folder.id, 'A002/C002.wav')?.attempts ?? 0) >= 2 && owedCleanup(r.engine.store.db, folder.id, 'A002/C002.wav'));
    assert.match(owed.lastError ?? '', /^cleanup\.failed: Could not move/);
    assert.ok(fs.existsSync(other), 'the source stays while its move fails');
    const otherJob = r.engine.listJobs().find((j) => j.sourcePath === other);
    assert.ok(history(r.engine, otherJob).some((h) => /^cleanup-retry: .*Tried \d+ time\(s\); trying again in/.test(h)));
    assert.ok(r.notices.some((n) => /trying again in/.test(n)), 'the failure is reported');
    await r.stop();

    const persisted = owedCleanup(testEngine(dir, { endpoint: s3Env().endpoint, bucket }).engine.store.db, folder.id, 'A002/C002.wav');
    assert.ok(persisted && persisted.attempts >= owed.attempts, 'the debt and its attempts are in the database');
    r = await rig(dir, [{ endpoint: s3Env().endpoint, bucket }]);
    const after = r.engine.folders;
    await until('a retry after the restart', () => owedCleanup(r.engine.store.db, folder.id, 'A002/C002.wav')!.attempts > persisted!.attempts);
    assert.ok(fs.existsSync(other));
    fs.rmSync(blocked);
    await until('the second clip to be moved once the way is clear', () => fs.existsSync(path.join(moveTo, 'A002', 'C002.wav')) && !fs.existsSync(other));
    assert.equal(await sha256OfFile(path.join(moveTo, 'A002', 'C002.wav')), sums[1]);
    assert.equal(owedCleanup(r.engine.store.db, folder.id, 'A002/C002.wav'), undefined, 'nothing is owed any more');
    assert.deepEqual(after.filesOfFolder(folder.id), [], 'the records retire with the files, so no later file is taken for them');
    assert.deepEqual(r.activity.filter((a) => a.action === 'moved').map((a) => a.path), [other]);
    assert.equal(r.engine.listJobs().length, 2, 'nothing was uploaded again');
  } finally {
    await r.stop();
    fs.rmSync(moveTo, { recursive: true, force: true });
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a source changed before every destination verified it is not deleted; the new version is sent to both, verified, and only then deleted', async () => {
  const dir = tempDir('changed');
  const watched = path.join(dir, 'exports');
  fs.mkdirSync(watched);
  let proxy: S3Proxy = await startS3Proxy(s3Env().endpoint);
  const port = proxy.port;
  const r = await rig(dir, [{ endpoint: s3Env().endpoint, bucket }, { endpoint: proxy.url, bucket: bucket2 }]);
  try {
    await proxy.close(); // the second destination is down
    await r.watcher.addFolder({ path: watched, destinationId: r.dests[0]!.id, destinationIds: r.dests.map((d) => d.id), after: 'delete', stableMs: 300 });
    const file = writeText(path.join(watched, 'cut.edl'), 'version 1');
    await until('the first destination to verify version 1', () => r.engine.listJobs().some((j) => j.destinationId === r.dests[0]!.id && j.state === 'done'));
    fs.writeFileSync(file, 'version 2, longer');
    await until('version 2 to be queued for the first destination', () => r.engine.listJobs().filter((j) => j.destinationId === r.dests[0]!.id).length === 2);
    assert.ok(fs.existsSync(file));
    proxy = await startS3Proxy(s3Env().endpoint, { port });
    await until('the file to be deleted', () => !fs.existsSync(file), 60_000);
    assert.equal(await sha256OfObject(client, bucket, 'cut.edl'), await sha256OfObject(client, bucket2, 'cut.edl'));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket2, Key: 'cut.edl' }));
    assert.equal(await got.Body!.transformToString(), 'version 2, longer', 'the version deleted is the version both verified');
    const lastDone = Math.max(...r.engine.listJobs().map((j) => Date.parse(j.finishedAt!)));
    const deletions = r.engine.listJobs().flatMap((j) => r.engine.events(j.id).filter((e) => e.kind === 'source-deleted'));
    assert.ok(deletions.length >= 2 && deletions.every((e) => Date.parse(e.at) >= lastDone));
  } finally {
    await r.stop();
    await proxy.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('folders that would upload moved files again, or lose files another folder still sends, are refused', async () => {
  const dir = tempDir('cleanup-config');
  const { engine, dest } = testEngine(dir, { endpoint: s3Env().endpoint, bucket });
  const other = engine.upsertDestination({ ...dest, name: 'other', bucket: bucket2 });
  const watcher = new FolderWatcher(engine);
  const refuses = (input: Parameters<FolderWatcher['addFolder']>[0], message: RegExp) => assert.rejects(watcher.addFolder(input), (e: Error & { code?: string }) => e.code === 'config.invalid' && message.test(e.message));
  try {
    for (const d of ['in/sub', 'done', 'b', 'c']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const dirIn = path.join(dir, 'in');
    await refuses({ path: dirIn, destinationId: dest.id, after: 'move' }, /Say where delivered files go/);
    await refuses({ path: dirIn, destinationId: dest.id, after: 'delete', moveTo: path.join(dir, 'done') }, /only with after: move/);
    await refuses({ path: dirIn, destinationId: dest.id, after: 'move', moveTo: path.join(dirIn, 'done') }, /overlaps the watched folder/);
    await refuses({ path: dirIn, destinationId: dest.id, after: 'move', moveTo: path.join(dir, 'unmounted') }, /does not exist. Create it \(or mount its volume\) first/);
    await refuses({ path: dirIn, destinationId: dest.id, destinationIds: [other.id, dest.id] }, /must be the first of destinationIds/);
    await refuses({ path: dirIn, destinationId: dest.id, destinationIds: [dest.id, dest.id] }, /named twice/);
    await refuses({ path: dirIn, destinationId: dest.id, destinationIds: [dest.id, 999] }, /no destination 999/);
    const moving = await watcher.addFolder({ path: dirIn, destinationId: dest.id, destinationIds: [dest.id, other.id], after: 'move', moveTo: path.join(dir, 'done'), priority: 'high' });
    assert.deepEqual([moving.destinationIds, moving.after, moving.moveTo, moving.priority], [[dest.id, other.id], 'move', path.join(dir, 'done'), 'high']);
    await refuses({ path: path.join(dir, 'done'), destinationId: other.id }, /where watched folder \d+ moves its delivered files/);
    await refuses({ path: path.join(dirIn, 'sub'), destinationId: other.id }, /overlaps watched folder/);
    await refuses({ path: dir, destinationId: engine.upsertDestination({ ...dest, name: 'third', bucket: 'third-bucket' }).id }, /deletes or moves files after delivery/);
    await refuses({ path: path.join(dir, 'b'), destinationId: other.id, after: 'move', moveTo: dirIn }, /overlaps watched folder/);
    assert.ok(await watcher.addFolder({ path: path.join(dir, 'c'), destinationId: other.id, after: 'delete' }), 'a folder apart is fine');
  } finally {
    await engine.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a delivery counts as verified only when the ETag is the MD5 (or md5-of-md5s) of the bytes sent', () => {
  const job = (mode: 'single' | 'multipart', etag: string | null, state: JobRecord['state'] = 'done') => ({ mode, etag, state }) as JobRecord;
  const a = '0cc175b9c0f1b6a831c399e269772661';
  const b = '92eb5ffee6ae2fec3ad71c777531578f';
  assert.equal(etagVerified(job('single', a), [a]), true);
  assert.equal(etagVerified(job('single', `"${a}"`), [a]), true, 'quotes do not matter');
  assert.equal(etagVerified(job('single', b), [a]), false);
  // md5(md5₁‖md5₂)-2, computed here from the definition, not with the engine's code.
  const composite = `${crypto.createHash('md5').update(Buffer.concat([Buffer.from(a, 'hex'), Buffer.from(b, 'hex')])).digest('hex')}-2`;
  assert.equal(etagVerified(job('multipart', composite), [a, b]), true);
  assert.equal(etagVerified(job('multipart', composite), [b, a]), false, 'parts in another order are other bytes');
  assert.equal(etagVerified(job('multipart', composite.replace(/-2$/, '-3')), [a, b]), false);
  assert.equal(etagVerified(job('single', 'an-sse-kms-etag'), [a]), false, 'an ETag that is not an MD5 proves nothing');
  assert.equal(etagVerified(job('single', a, 'completing'), [a]), false, 'only a finished job');
  assert.equal(etagVerified(job('multipart', null), [a, b]), false);
  assert.equal(etagVerified(job('multipart', 'x-2'), [a, null]), false, 'every part needs its MD5');
});
