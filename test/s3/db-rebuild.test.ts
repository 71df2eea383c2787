// A damaged database is rebuilt from what can be known, not silently emptied: a watched folder is
// mid-upload when `hoist watch` is killed and its database scribbled over; at the next start the
// folder is still watched (from hoist.db.recovery.json) and the upload the bucket still holds is
// taken up again, its parts adopted after checking them against the file, not sent again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ListPartsCommand } from '@aws-sdk/client-s3';
import type { WatchedFolder } from '../../shared/types.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { until } from '../support/engine.js';
import { donePartCount } from '../support/db-peek.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('db-rebuild', { proxy: true });

/** Every page but the header page, and the WAL past its header, overwritten: the tables are gone. */
function scribble(db: string): void {
  const bytes = fs.readFileSync(db);
  const pageSize = bytes.readUInt16BE(16);
  for (let at = pageSize; at < bytes.length; at += pageSize) bytes.fill(0xa5, at, at + Math.min(pageSize, 512));
  fs.writeFileSync(db, bytes);
  if (fs.existsSync(`${db}-wal`)) {
    const wal = fs.readFileSync(`${db}-wal`);
    wal.fill(0xa5, 32);
    fs.writeFileSync(`${db}-wal`, wal);
  }
}

test('a watched folder mid-upload, the database scribbled, a restart: still watched, the upload taken up with its server-side parts adopted, the object whole, nothing left', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'hoist.db');
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const watched = path.join(dir, 'offload');
  fs.mkdirSync(path.join(watched, 'A001'), { recursive: true });
  // Two parts at a time, kept for the destination (a per-destination setting).
  const slate = await writeRandomFile(path.join(dir, 'slate.txt'), 1024);
  assert.equal((await hoist([...cli, 'upload', slate, '--bucket', bucket, '--key', 'slate.txt', '--concurrency', '2'])).code, 0);
  const add = await hoist([...cli, 'folders', 'add', watched, '--bucket', bucket, '--prefix', 'day01', '--stable-for', '300ms', '--single-put-threshold', '0', '--json']);
  assert.equal(add.code, 0, add.stderr);
  const folder = (JSON.parse(add.stdout) as { folder: WatchedFolder }).folder;
  // Written before the watcher starts, so the scan finds it whole (64 MiB parts: the destination's default).
  const clip = await writeRandomFile(path.join(watched, 'A001', 'A001_C001_0925.mov'), 256 * MiB);
  const key = 'day01/A001/A001_C001_0925.mov';

  proxy.reset();
  proxy.setBandwidth(32 * MiB);
  const first = startHoist([...cli, 'watch']);
  await until('2 parts of the clip recorded', () => donePartCount(db, key) >= 2, 120_000);
  first.child.kill('SIGKILL');
  await first.done;
  proxy.setBandwidth(null);
  const [upload] = await listUploads(client, bucket);
  assert.equal(upload?.key, key, 'the multipart upload is still in progress on the server');
  const onServer = ((await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: upload!.uploadId }))).Parts ?? []).map((p) => p.PartNumber!);
  assert.ok(onServer.length >= 2 && onServer.length < 4, `parts on the server at the kill: ${onServer.join(',')}`);
  assert.ok(fs.existsSync(`${db}.recovery.json`), 'the recovery file sits beside the database');

  scribble(db);
  proxy.reset();
  const second = await hoist([...cli, 'watch', '--once']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /hoist: db\.corrupt: The Hoist database is damaged\. It was moved aside and a new one rebuilt from what can be known\. The damaged file is at .*hoist\.db\.damaged-/);
  assert.match(second.stderr, /hoist: Rebuilt from hoist\.db\.recovery\.json: 1 destination, 1 watched folder, 0 unfinished jobs\./);
  assert.match(second.stderr, new RegExp(`hoist: Took up the upload in progress of .*A001_C001_0925\\.mov \\(s3://${bucket}/${key}, ${onServer.length} parts on the server`));

  // Only the parts the server did not hold went out again; those it held were adopted by their MD5.
  const sent = proxy.uploadPartNumbers();
  assert.deepEqual(sent.filter((n) => onServer.includes(n)), [], `no part the server held was sent again (sent ${sent.join(',')})`);
  assert.deepEqual([...new Set([...sent, ...onServer])].sort((a, b) => a - b), [1, 2, 3, 4]);
  assert.equal(proxy.counts().CreateMultipartUpload, 0, 'the upload was taken up, not begun again');
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(clip));
  assert.deepEqual(await listUploads(client, bucket), [], 'nothing left in the bucket to bill');

  const folders = JSON.parse((await hoist([...cli, 'folders', 'list', '--json'])).stdout) as { folders: WatchedFolder[] };
  assert.deepEqual(folders.folders.map((f) => [f.id, f.path, f.prefix]), [[folder.id, watched, 'day01']], 'the folder is still watched, under its own id');
  const job = JSON.parse((await hoist([...cli, 'job', '1', '--json'])).stdout) as { job: { state: string; key: string }; history: Array<{ kind: string; message: string }> };
  assert.equal(job.job.state, 'done');
  assert.ok(job.history.some((e) => e.kind === 'upload-adopted'));
  assert.ok(job.history.some((e) => e.kind === 'reconciled' && new RegExp(`adopted ${onServer.length} whose bytes match`).test(e.message)), JSON.stringify(job.history));

  // The next start finds a sound database and sends nothing.
  proxy.reset();
  const third = await hoist([...cli, 'watch', '--once']);
  assert.equal(third.code, 0, third.stderr);
  assert.doesNotMatch(third.stderr, /db\.corrupt/);
  assert.equal(proxy.counts().UploadPart + proxy.counts().PutObject, 0);
  recordResult('db-rebuild', {
    what: 'hoist watch killed mid-upload (256 MiB, 4 parts), its database and WAL scribbled over, hoist watch again',
    outcome: `moved aside; destination and watched folder rebuilt from hoist.db.recovery.json; the bucket's upload taken up (no CreateMultipartUpload), ${onServer.length} server-side parts adopted by MD5, only ${sent.length} sent; object whole, no upload left`,
  });
});

/** Checkpoints the database, then overwrites only the pages of one table: the rest stays readable. */
function scribbleTable(db: string, table: string): number {
  const rw = new Database(db);
  let pages: number[];
  try {
    rw.pragma('wal_checkpoint(TRUNCATE)');
    pages = (rw.prepare('SELECT pageno FROM dbstat WHERE name = ?').all(table) as { pageno: number }[]).map((p) => p.pageno);
  } finally {
    rw.close();
  }
  const bytes = fs.readFileSync(db);
  const pageSize = bytes.readUInt16BE(16);
  for (const n of pages) bytes.fill(0xa5, (n - 1) * pageSize, n * pageSize);
  fs.writeFileSync(db, bytes);
  return pages.length;
}

test('an upload from the command line, its history pages scribbled: the readable rows give back the job and its upload id, which resumes with its parts adopted', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'salvage.db');
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const file = await writeRandomFile(path.join(dir, 'R001_render_v3.mov'), 40 * MiB);
  proxy.reset();
  proxy.setBandwidth(8 * MiB);
  const first = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'renders/R001_render_v3.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2']);
  await until('3 parts recorded', () => donePartCount(db) >= 3);
  first.child.kill('SIGKILL');
  await first.done;
  proxy.setBandwidth(null);
  const [upload] = (await listUploads(client, bucket)).filter((u) => u.key === 'renders/R001_render_v3.mov');
  const onServer = ((await client.send(new ListPartsCommand({ Bucket: bucket, Key: upload!.key, UploadId: upload!.uploadId }))).Parts ?? []).map((p) => p.PartNumber!);
  assert.ok(scribbleTable(db, 'job_events') > 0);

  proxy.reset();
  const run = await hoist([...cli, 'run']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /hoist: db\.corrupt: The Hoist database is damaged/);
  assert.match(run.stderr, /hoist: Rebuilt from salvage\.db\.recovery\.json and \d+ readable rows of the damaged file: 1 destination, 0 watched folders, 1 unfinished job\./);
  assert.match(run.stderr, new RegExp(`hoist: Restored .*R001_render_v3\\.mov → renders/R001_render_v3\\.mov with its upload ${upload!.uploadId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
  const sent = proxy.uploadPartNumbers();
  assert.deepEqual(sent.filter((n) => onServer.includes(n)), [], `no part the server held was sent again (sent ${sent.join(',')})`);
  assert.equal(proxy.counts().CreateMultipartUpload, 0);
  assert.equal(await sha256OfObject(client, bucket, 'renders/R001_render_v3.mov'), await sha256OfFile(file));
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key === 'renders/R001_render_v3.mov'), []);
  recordResult('db-salvage', {
    what: 'hoist upload killed mid-upload (8 parts of 5 MiB), the pages of its history table scribbled over, hoist run',
    outcome: `damage found by quick_check at open, moved aside; the destination from the recovery file, the job and its upload id from the damaged file's readable rows; ${onServer.length} server-side parts adopted by MD5, ${sent.length} sent; object whole, no upload left`,
  });
});
