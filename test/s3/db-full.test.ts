// A full disk under the job database: the database sits on a small tmpfs that the test fills
// mid-upload. hoist says db.full, does not crash, loses no recorded part, sends no part twice, and
// once space is freed records what was acknowledged meanwhile and finishes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import Database from 'better-sqlite3';
import { startHoist } from '../support/hoist-cli.js';
import { until } from '../support/engine.js';
import { donePartCount } from '../support/db-peek.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy, dir, onClose } = await s3Fixture('db-full', { proxy: true });
const small = path.join(dir, 'small-disk');

before(async () => {
  fs.mkdirSync(small);
  // Root may mount here (the tests' machine runs them as root); if it may not, this fails loudly.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]);
});
onClose(() => {
  try {
    execFileSync('umount', [small]);
  } catch {
    // already gone
  }
});

/** Writes until the disk says ENOSPC; returns the filler's path. */
function fillDisk(where: string): string {
  const filler = path.join(where, 'filler.bin');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  // Smaller writes fill the last blocks, so no page is left for the database's next write.
  const fd2 = fs.openSync(filler, 'a');
  try {
    for (;;) fs.writeSync(fd2, Buffer.alloc(512));
  } catch {
    // full to the last byte
  } finally {
    fs.closeSync(fd2);
  }
  return filler;
}

test('the database disk fills mid-upload: db.full reported, no crash, recorded parts stay done; space freed, the upload finishes with no part sent twice', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(small, 'hoist.db');
  const file = await writeRandomFile(path.join(dir, 'C005.mov'), 60 * MiB);
  proxy.reset();
  proxy.setBandwidth(6 * MiB);
  let stderr = '';
  const run = startHoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'upload', file, '--bucket', bucket, '--key', 'db-full.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2']);
  run.child.stderr!.on('data', (d) => (stderr += d));
  let filler = '';
  try {
    await until('2 parts recorded', () => donePartCount(db) >= 2);
    filler = fillDisk(small);
    // A reader keeps its snapshot (as `hoist jobs` or the UI may): the WAL cannot start over in the
    // space it already has, so the next commits must grow it. Without one, a WAL that the checkpoint
    // worker keeps resetting fits a small upload's records, and the full disk is never met.
    const reader = new Database(db, { readonly: true, fileMustExist: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM parts').get();
    const recordedAtFull = donePartCount(db);
    try {
      await until('hoist to report db.full', () => /hoist: db\.full: The disk that holds the Hoist database is full/.test(stderr), 120_000);
    } finally {
      reader.exec('COMMIT');
      reader.close();
    }
    assert.equal(run.child.exitCode, null, 'hoist is still running');
    assert.ok(donePartCount(db) >= recordedAtFull, 'no recorded part was lost');
    proxy.setBandwidth(null);
    // While full, the parts on the wire finish; nothing new starts until there is room.
    await until('the parts in flight to settle', () => proxy.requests().filter((r) => r.operation === 'UploadPart' && r.status === undefined).length === 0);
    fs.rmSync(filler);
    filler = '';
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /hoist: the database has room again/);
    const sent = proxy.uploadPartNumbers();
    assert.deepEqual([...sent].sort((x, y) => x - y), Array.from({ length: 12 }, (_, i) => i + 1), 'every part went out exactly once');
    assert.equal(await sha256OfObject(client, bucket, 'db-full.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), []);
    const ro = new Database(db, { readonly: true, fileMustExist: true });
    try {
      assert.equal(ro.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal((ro.prepare(`SELECT state FROM jobs`).get() as { state: string }).state, 'done');
    } finally {
      ro.close();
    }
    const waited = /\((\d+) acknowledged part\(s\) recorded\)/.exec(r.stderr)?.[1] ?? '0';
    recordResult('db-full', {
      what: 'the database on an 8 MiB tmpfs filled to the last byte mid-upload (12 parts of 5 MiB), then space freed',
      outcome: `db.full reported on stderr, no crash; ${recordedAtFull} recorded parts stayed done, ${waited} acknowledged meanwhile were recorded once there was room; every part sent once, object whole, integrity_check ok`,
    });
  } finally {
    proxy.setBandwidth(null);
    if (filler) fs.rmSync(filler, { force: true });
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
});
