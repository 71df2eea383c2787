// A source made unreadable mid-upload. Tests run as root, whom file permissions do not stop, so
// hoist runs here without the capabilities that override them: chmod 000 then denies the next part's open.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../shared/types.js';
import { WITHOUT_PERMISSION_OVERRIDE, hoist, startHoist } from '../support/hoist-cli.js';
import { until } from '../support/engine.js';
import { donePartCount } from '../support/db-peek.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('unreadable', { proxy: true });

async function jobsWithoutOverride(db: string): Promise<Job[]> {
  const r = await hoist(['--db', db, 'jobs', '--json'], {}, WITHOUT_PERMISSION_OVERRIDE);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: Job[] }).jobs;
}

test('the source made unreadable mid-upload: source.unreadable, job failed with its upload and parts kept; readable again, retry sends only the rest', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'hoist.db');
  const file = await writeRandomFile(path.join(dir, 'A002_C007.mov'), 40 * MiB);
  fs.chmodSync(file, 0o644);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const check = await hoist(['--db', path.join(dir, 'probe.db'), 'jobs'], {}, WITHOUT_PERMISSION_OVERRIDE);
  assert.equal(check.code, 0, `hoist runs without permission overrides here: ${check.stderr}`);

  proxy.reset();
  proxy.setBandwidth(8 * MiB);
  try {
    const run = startHoist([...cli, 'upload', file, '--bucket', bucket, '--key', 'unreadable.mov', '--single-put-threshold', '0', '--part-size', '5MiB', '--concurrency', '2'], {}, WITHOUT_PERMISSION_OVERRIDE);
    await until('2 parts recorded', () => donePartCount(db) >= 2);
    fs.chmodSync(file, 0o000);
    proxy.setBandwidth(null);
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /source\.unreadable \(ReadSource\): The source file cannot be read/);
    const [job] = await jobsWithoutOverride(db);
    assert.equal(job!.state, 'failed');
    assert.equal(job!.error?.code, 'source.unreadable');
    const detail = JSON.parse((await hoist(['--db', db, 'job', String(job!.id), '--json'], {}, WITHOUT_PERMISSION_OVERRIDE)).stdout) as { history: Array<{ kind: string; message: string }> };
    assert.ok(detail.history.some((e) => e.kind === 'failed' && /EACCES|permission denied/i.test(e.message)), JSON.stringify(detail.history));
    // Kept: the parts sent are the file's own bytes (its size, mtime and inode did not change), and
    // a permission or a share comes back; cancel (or a lifecycle rule) would abort the upload.
    assert.ok(job!.uploadId, 'the upload is kept for a retry');
    assert.deepEqual((await listUploads(client, bucket)).map((u) => u.uploadId), [job!.uploadId]);
    const kept = donePartCount(db);
    assert.ok(kept >= 2 && kept < 8, `recorded parts stay done (${kept})`);

    fs.chmodSync(file, 0o644);
    proxy.reset();
    assert.equal((await hoist(['--db', db, 'retry', String(job!.id)], {}, WITHOUT_PERMISSION_OVERRIDE)).code, 0);
    const again = await hoist([...cli, 'run'], {}, WITHOUT_PERMISSION_OVERRIDE);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(proxy.counts().UploadPart <= 8 - kept, `only the unrecorded parts went out after the retry (${proxy.counts().UploadPart})`);
    assert.equal(await sha256OfObject(client, bucket, 'unreadable.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('source-unreadable', {
      what: 'source chmod 000 mid-upload (hoist running without permission overrides), then readable again',
      outcome: `source.unreadable (ReadSource), job failed, upload and ${kept} recorded parts kept; hoist retry sent only the ${proxy.counts().UploadPart} unrecorded part(s); object whole, no upload left`,
    });
  } finally {
    proxy.setBandwidth(null);
    fs.chmodSync(file, 0o644);
  }
});
