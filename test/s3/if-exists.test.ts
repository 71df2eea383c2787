// No object replaced by surprise (issue 13, item 4): a key that already holds an object is met by the
// upload's --if-exists policy. A second `hoist upload` of a delivered folder sends nothing (counted
// at the fault proxy) and says how many files were already there; keep-both, never-overwrite,
// overwrite and a changed file under skip-identical each do what docs/cli.md says.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { MiB, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('ifexists', { proxy: true });
const db = path.join(dir, 'hoist.db');
const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
const small = ['--part-size', '5MiB', '--single-put-threshold', '5MiB'];

interface UploadJson {
  jobs: Job[];
  summary: { jobs: number; uploaded: number; alreadyThere: number; failed: number; cancelled: number };
}

async function upload(args: string[]): Promise<{ code: number | null; out: UploadJson; stderr: string }> {
  const r = await hoist([...cli, 'upload', ...args, '--bucket', bucket, ...small, '--json']);
  return { code: r.code, out: JSON.parse(r.stdout || '{"jobs":[]}') as UploadJson, stderr: r.stderr };
}

const sent = () => {
  const c = proxy.counts();
  return { PutObject: c.PutObject, CreateMultipartUpload: c.CreateMultipartUpload, UploadPart: c.UploadPart, CompleteMultipartUpload: c.CompleteMultipartUpload, GetObject: c.GetObject };
};
const NOTHING = { PutObject: 0, CreateMultipartUpload: 0, UploadPart: 0, CompleteMultipartUpload: 0, GetObject: 0 };

async function etagOf(key: string): Promise<string> {
  return ((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag ?? '').replace(/"/g, '');
}

test('a second `hoist upload` of a delivered folder sends nothing and says how many files were already there', async () => {
  const card = path.join(dir, 'A002R2EC');
  fs.mkdirSync(path.join(card, 'CLIPS'), { recursive: true });
  await writeRandomFile(path.join(card, 'CLIPS', 'A002C001.mov'), 12 * MiB + 4321); // 3 parts of 5 MiB
  await writeRandomFile(path.join(card, 'CLIPS', 'A002C002.mov'), MiB);
  fs.writeFileSync(path.join(card, 'notes.txt'), 'day 2, card A\n');
  const args = [card, '--prefix', 'day02/A002R2EC'];

  const first = await upload(args);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.out.summary, { jobs: 3, uploaded: 3, alreadyThere: 0, failed: 0, cancelled: 0 });
  assert.deepEqual(first.out.jobs.map((j) => j.outcome), ['created', 'created', 'created']);

  proxy.reset();
  const second = await upload(args);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(sent(), NOTHING, 'no PutObject, no UploadPart, nothing downloaded');
  assert.equal(proxy.bytesForwarded(), 0, 'not one byte of a body went out');
  assert.deepEqual(second.out.summary, { jobs: 3, uploaded: 0, alreadyThere: 3, failed: 0, cancelled: 0 });
  assert.ok(second.out.jobs.every((j) => j.state === 'done' && j.outcome === 'already-there'), JSON.stringify(second.out.jobs));
  const heads = proxy.counts().HeadObject;

  const third = await hoist([...cli, 'upload', ...args, '--bucket', bucket, ...small]);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, /^3 file\(s\): 0 uploaded, 3 already in the bucket$/m);
  assert.match(third.stderr, /already in the bucket: nothing sent/);
  assert.deepEqual(sent(), NOTHING);
  recordResult('rerun-sends-nothing', {
    what: 'hoist upload of a folder (a 12 MiB file in 3 parts of 5 MiB, a 1 MiB and a small one), then the same command again, counted at the proxy',
    outcome: `second run: ${second.out.summary.alreadyThere} of ${second.out.summary.jobs} already in the bucket, 0 PutObject, 0 UploadPart, 0 GetObject, 0 body bytes, ${heads} HeadObject; stdout says "3 file(s): 0 uploaded, 3 already in the bucket"`,
  });
});

test('each policy at a key that holds other bytes: never-overwrite refuses, keep-both goes beside it, skip-identical replaces a changed file, overwrite sends without looking', async () => {
  const key = 'day03/A003C004.mov';
  const theirs = crypto.randomBytes(2 * MiB);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: theirs }));
  const theirsEtag = await etagOf(key);
  const file = await writeRandomFile(path.join(dir, 'A003C004.mov'), 2 * MiB);

  proxy.reset();
  const refused = await upload([file, '--key', key, '--if-exists', 'never-overwrite']);
  assert.equal(refused.code, 1);
  assert.equal(refused.out.jobs[0]?.state, 'failed');
  assert.equal(refused.out.jobs[0]?.error?.code, 's3.object-exists');
  assert.deepEqual(sent(), NOTHING);
  assert.equal(await etagOf(key), theirsEtag, 'their object is untouched');

  // The failed job is taken up again with the new policy (one job per file and key).
  const kept = await upload([file, '--key', key, '--if-exists', 'keep-both']);
  assert.equal(kept.code, 0, kept.stderr);
  assert.equal(kept.out.jobs[0]?.key, 'day03/A003C004 (1).mov');
  assert.equal(kept.out.jobs[0]?.outcome, 'kept-both');
  assert.equal(await sha256OfObject(client, bucket, 'day03/A003C004 (1).mov'), await sha256OfFile(file));
  assert.equal(await etagOf(key), theirsEtag, 'both kept');

  proxy.reset();
  const again = await upload([file, '--key', key, '--if-exists', 'keep-both']);
  assert.equal(again.out.jobs[0]?.outcome, 'already-there', 'the copy kept beside it is found: no third copy');
  assert.equal(again.out.jobs[0]?.key, 'day03/A003C004 (1).mov');
  assert.deepEqual(sent(), NOTHING);

  // The same size, other bytes: only the ETag tells them apart, and the object is replaced.
  fs.writeFileSync(file, crypto.randomBytes(2 * MiB));
  proxy.reset();
  const replaced = await upload([file, '--key', key]);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.equal(replaced.out.jobs[0]?.ifExists, 'skip-identical', 'the default');
  assert.equal(replaced.out.jobs[0]?.outcome, 'replaced');
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
  const put = proxy.requests().filter((r) => r.operation === 'PutObject');
  assert.deepEqual(put.map((r) => r.headers['if-match']), [theirsEtag], 'replaced only on condition that it still was their object');

  proxy.reset();
  const overwritten = await upload([file, '--key', key, '--if-exists', 'overwrite']);
  assert.equal(overwritten.code, 0, overwritten.stderr);
  assert.equal(overwritten.out.jobs[0]?.outcome, 'sent');
  assert.equal(proxy.counts().PutObject, 1, 'sent again although the bytes were the same');
  assert.equal(proxy.counts().HeadObject, 0, 'without looking');
  assert.equal(proxy.requests().find((r) => r.operation === 'PutObject')?.headers['if-match'], undefined, 'and without a condition');
  recordResult('if-exists-policies', {
    what: 'a key holding another client’s 2 MiB object; hoist upload with --if-exists never-overwrite, keep-both (twice), skip-identical with a changed file of the same size, overwrite',
    outcome: `never-overwrite: ${refused.out.jobs[0]?.error?.code}, nothing sent; keep-both: sent to "${kept.out.jobs[0]?.key}", then found there (already-there, nothing sent); skip-identical: replaced with If-Match ${theirsEtag}; overwrite: 1 PutObject, 0 HeadObject`,
  });
});

test('a multipart object whose file changed is replaced under skip-identical, on condition that it is still the object seen', async () => {
  const key = 'day04/A004C001.mov';
  const file = await writeRandomFile(path.join(dir, 'A004C001.mov'), 11 * MiB);
  const first = await upload([file, '--key', key]);
  assert.equal(first.out.jobs[0]?.outcome, 'created');
  const before = await etagOf(key);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0xff, 0x00, 0xff]), 0, 3, 7 * MiB);
  fs.closeSync(fd);
  proxy.reset();
  const second = await upload([file, '--key', key]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.out.jobs[0]?.outcome, 'replaced');
  assert.equal(proxy.counts().UploadPart, 3);
  assert.deepEqual(proxy.requests().filter((r) => r.operation === 'CompleteMultipartUpload').map((r) => r.headers['if-match']), [before]);
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
});
