// The real `hoist folders` and `hoist watch` commands in child processes, against the real server.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { WatchedFolder } from '../../shared/types.js';
import { until } from '../support/engine.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { MiB, listUploads, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { listKeys, writeText } from '../support/watch.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('watch-cli', { proxy: true });

function cli(dir: string): string[] {
  return ['--db', path.join(dir, 'hoist.db'), '--endpoint', proxy.url, '--path-style'];
}

async function addFolder(dir: string, watched: string, extra: string[] = []): Promise<WatchedFolder> {
  const r = await hoist([...cli(dir), 'folders', 'add', watched, '--bucket', bucket, '--stable-for', '400ms', '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { folder: WatchedFolder }).folder;
}

test('hoist folders add, list and remove; remove refuses to guess without a terminal', async () => {
  const dir = tempDir('folders-cli');
  const watched = path.join(dir, 'exports');
  fs.mkdirSync(watched);
  const missing = await hoist([...cli(dir), 'folders', 'add', path.join(dir, 'nope'), '--bucket', bucket]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /config\.invalid: Cannot watch .*nope: it does not exist/);

  const folder = await addFolder(dir, watched, ['--prefix', 'finals', '--include', '*.mov', '--include', '*.mxf', '--exclude', 'proxies/**', '--growing']);
  assert.equal(folder.path, watched);
  assert.equal(folder.prefix, 'finals');
  assert.deepEqual(folder.include, ['*.mov', '*.mxf']);
  assert.deepEqual(folder.exclude, ['proxies/**']);
  assert.equal(folder.growing, true);
  assert.equal(folder.stableMs, 400);

  const listed = await hoist([...cli(dir), 'folders', 'list', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const { folders } = JSON.parse(listed.stdout) as { folders: Array<WatchedFolder & { bucket: string }> };
  assert.deepEqual(folders.map((f) => [f.id, f.path, f.bucket]), [[folder.id, watched, bucket]]);
  const plain = await hoist([...cli(dir), 'folders', 'list']);
  assert.match(plain.stdout, new RegExp(`${folder.id}  ${watched}  ->  s3://${bucket}/finals .*growing`));

  const refused = await hoist([...cli(dir), 'folders', 'remove', String(folder.id)]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--unfinished keep .* --unfinished cancel/);
  const removed = await hoist([...cli(dir), 'folders', 'remove', String(folder.id), '--unfinished', 'keep']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match((await hoist([...cli(dir), 'folders', 'list'])).stdout, /no watched folders/);
  const none = await hoist([...cli(dir), 'watch']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /No folder is watched/);
});

test('1,000 small files and a few large ones dropped at once all arrive; a restart sends none again; files added meanwhile arrive', async () => {
  const dir = tempDir('bulk');
  const watched = path.join(dir, 'offload');
  fs.mkdirSync(watched);
  await addFolder(dir, watched, ['--prefix', 'bulk']);
  const run = startHoist([...cli(dir), 'watch']);
  let first: Awaited<typeof run.done>;
  const files: string[] = [];
  try {
    // Dropped as hoist watch starts: some are found by its first scan, the rest by events.
    for (let i = 0; i < 1000; i++) {
      const file = path.join(watched, 'stills', `F${String(i).padStart(4, '0')}.dng`);
      if (i === 0) fs.mkdirSync(path.dirname(file));
      fs.writeFileSync(file, crypto.randomBytes(1024 + i));
      files.push(file);
    }
    for (let i = 1; i <= 3; i++) files.push(await writeRandomFile(path.join(watched, `A00${i}_C001.mov`), 24 * MiB + i));
    await until('all 1,003 objects', async () => (await listKeys(client, bucket)).filter((k) => k.startsWith('bulk/')).length === 1003, 300_000);
  } finally {
    run.child.kill('SIGINT');
    first = await run.done;
  }
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /pausing cleanly/);
  for (const file of [files[0]!, files[999]!, ...files.slice(1000)]) {
    const key = `bulk/${path.relative(watched, file)}`;
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), key);
  }

  const added = [writeText(path.join(watched, 'late', 'one.wav'), 'while stopped 1'), writeText(path.join(watched, 'late', 'two.wav'), 'while stopped 2')];
  proxy.reset();
  const second = await hoist([...cli(dir), 'watch', '--once']);
  assert.equal(second.code, 0, second.stderr);
  const c = proxy.counts();
  assert.equal(c.PutObject, 2, 'only the two files added while stopped were sent');
  assert.equal(c.UploadPart + c.CreateMultipartUpload, 0);
  for (const file of added) assert.equal(await sha256OfObject(client, bucket, `bulk/${path.relative(watched, file)}`), await sha256OfFile(file));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('hoist folders remove --unfinished cancel cancels the folder’s uploads and aborts them on the server', async () => {
  const dir = tempDir('remove-cancel');
  const watched = path.join(dir, 'renders');
  fs.mkdirSync(watched);
  const folder = await addFolder(dir, watched, ['--prefix', 'cancel', '--single-put-threshold', '5MiB']);
  await writeRandomFile(path.join(watched, 'render.mov'), 30 * MiB);
  proxy.setBandwidth(4 * MiB);
  const run = startHoist([...cli(dir), 'watch'], { AWS_ACCESS_KEY_ID: s3Env().accessKeyId, AWS_SECRET_ACCESS_KEY: s3Env().secretAccessKey });
  try {
    await until('the upload to be under way', async () => (await listUploads(client, bucket)).some((u) => u.key === 'cancel/render.mov'), 60_000);
    const second = await hoist([...cli(dir), 'watch']);
    assert.equal(second.code, 2, 'a second watcher on the same queue is refused, so no file is decided twice');
    assert.match(second.stderr, /already works this queue; only that process watches the folders/);
  } finally {
    run.child.kill('SIGINT');
    await run.done;
    proxy.setBandwidth(null);
  }
  assert.equal((await listUploads(client, bucket)).filter((u) => u.key === 'cancel/render.mov').length, 1, 'a paused upload keeps its parts');
  const r = await hoist([...cli(dir), 'folders', 'remove', String(folder.id), '--unfinished', 'cancel']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 unfinished upload\(s\) cancelled and aborted/);
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key === 'cancel/render.mov'), [], 'invariant 4: the upload is aborted');
  const jobs = JSON.parse((await hoist([...cli(dir), 'jobs', '--json'])).stdout) as { jobs: Array<{ state: string }> };
  assert.deepEqual(jobs.jobs.map((j) => j.state), ['cancelled']);
});
