// Watched folders against the real server, with real file-system events in temporary folders.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { forgetTestDb, sleep, testEngine, until } from '../support/engine.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { listKeys, startWatching, untilQuiet, writeText } from '../support/watch.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('watch', { proxy: true });

/** PutObject and UploadPart requests that carried bytes of this key. */
function sendsOf(key: string): number {
  const encoded = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return proxy.requests().filter((r) => (r.operation === 'PutObject' || r.operation === 'UploadPart') && r.path === encoded).length;
}

test('a file written slowly over 10 s is uploaded once, after its last write, byte-identical', async () => {
  const dir = tempDir('slow');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'slow' }, { stableMs: 1500 });
  try {
    const file = path.join(watched, 'A001_C001.mov');
    const fh = await fs.promises.open(file, 'w');
    for (let i = 0; i < 20; i++) {
      await fh.write(Buffer.alloc(256 * 1024, i + 1));
      await sleep(500);
      assert.equal(rig.engine.listJobs().length, 0, `no job while the file is still being written (write ${i + 1} of 20)`);
    }
    await fh.close();
    const lastWrite = Date.now();
    const job = await until('the job', () => rig.engine.listJobs()[0], 30_000);
    assert.ok(Date.parse(job.createdAt) >= lastWrite - 1, 'the job was made after the last write');
    const [done] = await rig.engine.waitFor([job.id]);
    assert.equal(done!.state, 'done');
    assert.equal(done!.key, 'slow/A001_C001.mov');
    assert.equal(await sha256OfObject(client, bucket, 'slow/A001_C001.mov'), await sha256OfFile(file));
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(rig.engine.listJobs().length, 1, 'one job, not one per write');
    assert.equal(sendsOf('slow/A001_C001.mov'), 1, 'the bytes went once');
  } finally {
    await rig.stop();
  }
});

test('ignored names stay local; NFD names become NFC keys; a too-long key and a colliding key are reported, not sent', async () => {
  const dir = tempDir('names');
  const watched = path.join(dir, 'card');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'names' });
  try {
    for (const name of ['clip.mov.part', 'render.tmp', 'big.iso.crdownload', '~$script.docx', '._A001.mov', '.DS_Store', 'Thumbs.db', 'sub/deeper/x.TMP', '.Trashes/old.mov']) {
      writeText(path.join(watched, name), `sidecar ${name}`);
    }
    // macOS writes decomposed names: "é" as "e" + U+0301.
    const nfd = writeText(path.join(watched, 'Cafe\u0301', 'Scene\u0301 1.mov'), 'nfd clip');
    // Both spellings on one Linux disk: two files, one key.
    const first = writeText(path.join(watched, 'Jos\u00e9.mov'), 'composed');
    await until('the first spelling to be queued', () => rig.activity.some((a) => a.path === first), 30_000);
    const second = writeText(path.join(watched, 'Jose\u0301.mov'), 'decomposed');
    const deep = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(220)).join('/');
    const tooLong = writeText(path.join(watched, deep, 'clip.mov'), 'too long');
    const keep = writeText(path.join(watched, 'sub', 'deeper', 'keep.mov'), 'kept');

    await until('the wanted files to arrive', async () => (await listKeys(client, bucket)).includes('names/sub/deeper/keep.mov'), 30_000);
    await until('the collision to be reported', () => rig.skipped.some((s) => s.path === second), 30_000);
    await untilQuiet(rig, 'the watcher to settle');
    const keys = (await listKeys(client, bucket)).filter((k) => k.startsWith('names/'));
    assert.deepEqual(keys, ['names/Caf\u00e9/Scen\u00e9 1.mov', 'names/Jos\u00e9.mov', 'names/sub/deeper/keep.mov'].sort());
    assert.equal(await sha256OfObject(client, bucket, 'names/Jos\u00e9.mov'), await sha256OfFile(first), 'the first file keeps the key; it was not overwritten');
    assert.equal(await sha256OfObject(client, bucket, 'names/Caf\u00e9/Scen\u00e9 1.mov'), await sha256OfFile(nfd));
    assert.equal(await sha256OfObject(client, bucket, 'names/sub/deeper/keep.mov'), await sha256OfFile(keep));

    const collision = rig.skipped.find((s) => s.path === second);
    assert.equal(collision?.reason, 'key-collision');
    assert.match(collision!.message, /both map to s3:\/\/.*names\/José\.mov/);
    const long = rig.skipped.find((s) => s.path === tooLong);
    assert.equal(long?.reason, 'limits.key-too-long');
    assert.match(long!.message, /1,?024/);
    assert.equal(rig.skipped.length, 2, JSON.stringify(rig.skipped));
  } finally {
    await rig.stop();
  }
});

test('a restart sends nothing again; files added, changed or deleted while stopped are handled as such', async () => {
  const dir = tempDir('restart');
  const watched = path.join(dir, 'exports');
  fs.mkdirSync(watched);
  const s3 = { endpoint: proxy.url, bucket, prefix: 'restart' };
  let rig = await startWatching(dir, watched, s3);
  const stays = writeText(path.join(watched, 'stays.mov'), 'unchanged');
  const edited = writeText(path.join(watched, 'edited.mov'), 'version 1');
  const deleted = writeText(path.join(watched, 'deleted.mov'), 'to be deleted');
  try {
    await until('three objects', async () => (await listKeys(client, bucket)).filter((k) => k.startsWith('restart/')).length === 3, 30_000);
    await untilQuiet(rig, 'the first run to settle');
  } finally {
    await rig.stop();
  }
  // While Hoist is stopped: one file is new, one is re-exported, one is deleted.
  const added = writeText(path.join(watched, 'later', 'added.mov'), 'arrived while stopped');
  fs.writeFileSync(edited, 'version 2, longer');
  fs.unlinkSync(deleted);
  proxy.reset();
  rig = await startWatching(dir, watched, s3);
  try {
    await until('the added file', async () => (await listKeys(client, bucket)).includes('restart/later/added.mov'), 30_000);
    await until('the edited file', async () => (await sha256OfObject(client, bucket, 'restart/edited.mov')) === (await sha256OfFile(edited)), 30_000);
    await untilQuiet(rig, 'the second run to settle');
    assert.equal(sendsOf('restart/stays.mov'), 0, 'an unchanged file is not sent again');
    assert.equal(sendsOf('restart/later/added.mov'), 1);
    assert.equal(sendsOf('restart/edited.mov'), 1, 'a file modified after upload becomes a new job');
    assert.equal(await sha256OfObject(client, bucket, 'restart/deleted.mov'), (await import('node:crypto')).createHash('sha256').update('to be deleted').digest('hex'), 'a file deleted locally is never deleted from the bucket');
    assert.equal(await sha256OfObject(client, bucket, 'restart/stays.mov'), await sha256OfFile(stays));
    assert.equal(await sha256OfObject(client, bucket, 'restart/later/added.mov'), await sha256OfFile(added));
    const editedJobs = rig.engine.listJobs().filter((j) => j.key === 'restart/edited.mov');
    assert.equal(editedJobs.length, 2);
    assert.ok(editedJobs.every((j) => j.state === 'done'));
  } finally {
    await rig.stop();
  }
});

test('with a fresh database, a file whose object is already in the bucket (same size and ETag) is not sent again', async () => {
  const dir = tempDir('adopt');
  const watched = path.join(dir, 'media');
  fs.mkdirSync(watched);
  const single = writeText(path.join(watched, 'small.mov'), 'small and already there');
  const multi = await writeRandomFile(path.join(watched, 'large.mov'), 12 * MiB + 5);
  const s3 = { endpoint: proxy.url, bucket, prefix: 'adopt', singlePutThreshold: 5 * MiB };
  let rig = await startWatching(dir, watched, s3);
  try {
    await until('both objects', async () => (await listKeys(client, bucket)).filter((k) => k.startsWith('adopt/')).length === 2, 30_000);
    await untilQuiet(rig, 'the first run to settle');
  } finally {
    await rig.stop();
  }
  forgetTestDb(dir);
  proxy.reset();
  rig = await startWatching(dir, watched, s3);
  try {
    await until('both files adopted', () => rig.activity.filter((a) => a.action === 'adopted').length === 2, 30_000);
    await untilQuiet(rig, 'the second run to settle');
    assert.equal(sendsOf('adopt/small.mov') + sendsOf('adopt/large.mov'), 0);
    assert.equal(rig.engine.listJobs().length, 0);
    // Changed afterwards (same size, other bytes): uploaded again.
    fs.writeFileSync(single, 'SMALL AND ALREADY THERE');
    await until('the changed file', async () => (await sha256OfObject(client, bucket, 'adopt/small.mov')) === (await sha256OfFile(single)), 30_000);
    assert.equal(await sha256OfObject(client, bucket, 'adopt/large.mov'), await sha256OfFile(multi));
  } finally {
    await rig.stop();
  }
});

test('symlink loops and unreadable entries are reported and passed over; the watcher goes on', async () => {
  const dir = tempDir('loops');
  const watched = path.join(dir, 'nas');
  fs.mkdirSync(path.join(watched, 'shots'), { recursive: true });
  fs.symlinkSync('..', path.join(watched, 'shots', 'up'));
  fs.symlinkSync('self', path.join(watched, 'self'));
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(watched, 'dangling.mov'));
  const outside = writeText(path.join(dir, 'elsewhere', 'linked.mov'), 'through a link');
  fs.symlinkSync(outside, path.join(watched, 'linked.mov'));
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'loops' });
  try {
    const later = writeText(path.join(watched, 'shots', 'after.mov'), 'after the loops');
    await until('files after the loops to arrive', async () => (await listKeys(client, bucket)).includes('loops/shots/after.mov'), 30_000);
    await until('the linked file', async () => (await listKeys(client, bucket)).includes('loops/linked.mov'), 30_000);
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(await sha256OfObject(client, bucket, 'loops/shots/after.mov'), await sha256OfFile(later));
    const keys = (await listKeys(client, bucket)).filter((k) => k.startsWith('loops/'));
    assert.deepEqual(keys, ['loops/linked.mov', 'loops/shots/after.mov'], 'nothing was walked twice through the loop');
    const reasons = rig.skipped.map((s) => `${path.basename(s.path)}: ${s.reason}`).sort();
    assert.deepEqual(reasons, ['dangling.mov: source.unreadable', 'self: source.unreadable']);
    assert.match(rig.skipped.find((s) => s.path.endsWith('self'))!.message, /symlink loop/);
  } finally {
    await rig.stop();
  }
});

test('addFolder refuses a missing folder, a file, an unknown destination and an overlapping folder, clearly', async () => {
  const dir = tempDir('validate');
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket });
  const watcher = new FolderWatcher(engine);
  try {
    const refuses = async (input: Parameters<FolderWatcher['addFolder']>[0], message: RegExp) =>
      assert.rejects(watcher.addFolder(input), (err: unknown) => err instanceof HoistError && err.code === 'config.invalid' && message.test(err.message));
    await refuses({ path: path.join(dir, 'missing'), destinationId: dest.id }, /does not exist/);
    await refuses({ path: writeText(path.join(dir, 'a-file'), 'x'), destinationId: dest.id }, /not a folder/);
    await refuses({ path: dir, destinationId: 999 }, /no destination 999/);
    fs.mkdirSync(path.join(dir, 'in', 'inner'), { recursive: true });
    const outer = await watcher.addFolder({ path: path.join(dir, 'in'), destinationId: dest.id, prefix: '/p', include: ['*.mov'], growing: true });
    assert.equal(outer.prefix, 'p');
    assert.equal(outer.stableMs, 3000, 'a few seconds by default');
    assert.deepEqual(outer.include, ['*.mov']);
    await refuses({ path: path.join(dir, 'in'), destinationId: dest.id }, /already watched/);
    await refuses({ path: path.join(dir, 'in', 'inner'), destinationId: dest.id }, /overlaps watched folder/);
    assert.deepEqual(watcher.listFolders().map((f) => f.id), [outer.id]);
    await watcher.removeFolder(outer.id, 'keep');
    assert.deepEqual(watcher.listFolders(), []);
  } finally {
    await engine.close();
  }
});

test('polling (for shares that send no events) finds new, changed and moved-in files by scanning', async () => {
  const dir = tempDir('poll');
  const watched = path.join(dir, 'share');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'poll' }, {}, { poll: true, pollIntervalMs: 300 });
  try {
    const a = writeText(path.join(watched, 'a.mov'), 'first');
    await until('a.mov', async () => (await listKeys(client, bucket)).includes('poll/a.mov'), 30_000);
    fs.writeFileSync(a, 'first, changed');
    const staged = writeText(path.join(dir, 'staging', 'reel', 'b.mov'), 'moved in');
    fs.renameSync(path.dirname(staged), path.join(watched, 'reel'));
    await until('reel/b.mov', async () => (await listKeys(client, bucket)).includes('poll/reel/b.mov'), 30_000);
    await until('the change', async () => (await sha256OfObject(client, bucket, 'poll/a.mov')) === (await sha256OfFile(a)), 30_000);
    await untilQuiet(rig, 'the watcher to settle');
    assert.equal(rig.engine.listJobs().length, 3);
  } finally {
    await rig.stop();
  }
});
