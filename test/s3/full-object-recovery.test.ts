// The full-object checksum of an upload finished by the next run, after the process died (SIGKILL)
// with every part acknowledged: before its Complete went, or during it (the server completed, the
// answer never came back). Amazon S3 is played by the fault proxy (test/support/proxy-checksums.ts),
// because radosgw 16 verifies no flexible checksum and keeps none: it verifies each part's CRC32C,
// checks the FULL_OBJECT checksum at Complete against the parts' bytes and names it at HeadObject.
// The next run must prove the object by the whole file's CRC32C, combined from the parts' CRCs the
// dead process recorded, without sending a byte again, and must not take an object whose checksum
// is not the file's as done.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Job, JobEvent } from '../../shared/types.js';
import { until } from '../support/engine.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { checksumOf, playChecksumS3 } from '../support/proxy-checksums.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import type { ProxyAnswer } from '../support/s3-proxy.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy, dir } = await s3Fixture('fullobj-recovery', { proxy: true });
const s3 = playChecksumS3(proxy, { client });

/**
 * `hoist upload` of one file in 5 MiB parts, integrity auto, killed once its Complete reached the
 * proxy: `forward` says whether the played S3 completes the upload first (the answer is lost) or
 * the Complete never goes on. Returns the database the next run takes up.
 */
async function killedAtComplete(label: string, file: string, key: string, forward: boolean): Promise<string> {
  const db = path.join(dir, `${label}.db`);
  let reached = false;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let completed: Promise<ProxyAnswer> | null = null;
  proxy.addFault({
    operation: 'CompleteMultipartUpload',
    first: true,
    times: 1,
    action: {
      kind: 'respond',
      async answer(req): Promise<ProxyAnswer> {
        // The process now waits for this answer: it is killed meanwhile, whatever the server does.
        reached = true;
        completed = forward ? s3.complete(req) : Promise.resolve({ status: 500, headers: {}, body: '' });
        const answer = await completed;
        await held;
        return answer;
      },
    },
  });
  const run = startHoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'upload', file, '--bucket', bucket, '--key', key, '--part-size', '5MiB', '--single-put-threshold', '0', '--integrity', 'auto', '--hash', 'none']);
  try {
    await until('the Complete to reach the proxy', () => reached || run.child.exitCode !== null, 120_000);
    run.child.kill('SIGKILL');
    const end = await run.done;
    assert.equal(end.signal, 'SIGKILL', `it ended by itself (code ${end.code}): ${end.stderr}`);
    assert.ok(reached);
    await completed;
  } finally {
    release();
  }
  return db;
}

async function nextRun(db: string): Promise<{ job: Job; events: JobEvent[] }> {
  proxy.reset();
  const r = await hoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'run']);
  assert.equal(r.code, 0, r.stderr);
  const shown = await hoist(['--db', db, 'job', '1', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const out = JSON.parse(shown.stdout) as { job: Job; history: JobEvent[] };
  return { job: out.job, events: out.history };
}

const sent = (operation: string) => proxy.requests().filter((r) => r.operation === operation).length;

test('killed during Complete (the played S3 completed it, the answer lost): the next run proves the object by the full-object CRC32C combined from the recorded part CRCs, and sends nothing again', async () => {
  const file = await writeRandomFile(path.join(dir, 'during.mov'), 17 * MiB + 4321);
  const key = 'recovery/during.mov';
  const db = await killedAtComplete('during', file, key, true);
  const whole = checksumOf('crc32c', fs.readFileSync(file));
  assert.equal(s3.objects.get(key)?.value, whole, 'the played S3 completed the object before the kill');

  const { job, events } = await nextRun(db);
  assert.equal(job.state, 'done', JSON.stringify(events));
  assert.equal(job.checksumType, 'FULL_OBJECT');
  assert.equal(job.contentMd5, false);
  assert.equal(job.proof, 'full-object-checksum');
  assert.equal(job.fullObjectChecksum, whole, "the proof is the whole file's CRC32C");
  assert.ok(events.some((e) => /already been completed/.test(e.message)), JSON.stringify(events));
  assert.equal(sent('UploadPart') + sent('CreateMultipartUpload') + sent('CompleteMultipartUpload'), 0, 'no part, create or Complete sent again');
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
  assert.deepEqual(await listUploads(client, bucket), []);
});

test('killed during Complete, then the object at the key keeps another full-object checksum: it is not taken as done; the upload starts afresh', async () => {
  const file = await writeRandomFile(path.join(dir, 'other.mov'), 13 * MiB + 99);
  const key = 'recovery/other.mov';
  const db = await killedAtComplete('other', file, key, true);
  // What the server says the object keeps is not the file's (another writer's object, or damage).
  const foreign = checksumOf('crc32c', Buffer.from('another object'));
  s3.objects.set(key, { algorithm: 'crc32c', value: foreign, type: 'FULL_OBJECT' });

  const { job, events } = await nextRun(db);
  const mismatch = events.find((e) => e.kind === 'checksum-mismatch');
  assert.ok(mismatch, `the history says the object's checksum is not the file's: ${JSON.stringify(events)}`);
  assert.match(mismatch.message, new RegExp(foreign.replace(/[+/=]/g, '\\$&')));
  assert.ok(sent('UploadPart') >= 3, 'not taken as done on that object: every part was sent again');
  // Sent again, the object is the file's and proven so.
  assert.equal(job.state, 'done', JSON.stringify(events));
  assert.equal(job.fullObjectChecksum, checksumOf('crc32c', fs.readFileSync(file)));
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
});

test('killed with every part acknowledged, before Complete went: the next run completes with the full-object CRC32C combined from the recorded part CRCs', async () => {
  const file = await writeRandomFile(path.join(dir, 'before.mov'), 16 * MiB + 1);
  const key = 'recovery/before.mov';
  const db = await killedAtComplete('before', file, key, false);
  assert.equal(s3.objects.get(key), undefined, 'nothing completed before the kill');

  const { job, events } = await nextRun(db);
  const whole = checksumOf('crc32c', fs.readFileSync(file));
  assert.equal(job.state, 'done', JSON.stringify(events));
  assert.equal(job.proof, 'full-object-checksum');
  assert.equal(job.fullObjectChecksum, whole);
  assert.equal(sent('UploadPart'), 0, 'no part sent again');
  const complete = proxy.requests().find((r) => r.operation === 'CompleteMultipartUpload');
  assert.equal(complete?.headers['x-amz-checksum-crc32c'], whole, "Complete carried the whole file's CRC32C");
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
  recordResult('full-object-recovery', {
    what: 'hoist upload (integrity auto, S3 played by the proxy: it verifies CRC32C and FULL_OBJECT) SIGKILLed with every part acknowledged: during Complete (completed on the server, answer lost), the same with the object then naming another checksum, and before Complete went; then `hoist run`',
    outcome: 'during: done with proof full-object-checksum equal to the file\'s CRC32C (HeadObject), no request re-sent; another checksum: not taken as done, said in the history, sent afresh; before: Complete sent the CRC32C combined from the recorded part CRCs, proof full-object-checksum, no part re-sent',
  });
});
