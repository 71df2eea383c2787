// A computer whose clock is off: S3 (radosgw too) refuses requests signed more than 15 minutes
// away from its own time. hoist runs under faketime (libfaketime, LD_PRELOAD) with its clock
// 30 minutes behind, then 45 minutes ahead; the real server and the proxy keep the real time.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('clock-skew', { proxy: true });

type Detail = { job: Job; history: Array<{ kind: string; code: string | null; message: string }> };

async function detail(db: string, id: number): Promise<Detail> {
  const r = await hoist(['--db', db, 'job', String(id), '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Detail;
}

const refusedAsSkewed = () => proxy.requests().filter((r) => r.status === 403).length;

for (const [skew, words] of [['-30m', '30 min behind'], ['+45m', '45 min ahead of']] as const) {
  test(`a clock ${words} the server's: the signing clock is corrected from the server's Date and the uploads finish, noted in the history`, async () => {
    const db = path.join(dir, `skew${skew}.db`);
    const big = await writeRandomFile(path.join(dir, `big${skew}.mov`), 16 * MiB);
    const small = await writeRandomFile(path.join(dir, `small${skew}.mov`), 1 * MiB);
    const faked = await hoist(['--db', path.join(dir, 'probe.db'), 'jobs', '--json'], {}, ['faketime', '-f', skew]);
    assert.equal(faked.code, 0, faked.stderr);
    proxy.reset();
    // Single PutObjects first: their first request goes out from a part worker, with nothing learned yet.
    const r = await hoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'upload', small, big, '--bucket', bucket, '--prefix', `skew${skew}`, '--part-size', '5MiB', '--single-put-threshold', '8MiB', '--concurrency', '4'], {}, ['faketime', '-f', skew]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256OfObject(client, bucket, `skew${skew}/${path.basename(big)}`), await sha256OfFile(big));
    assert.equal(await sha256OfObject(client, bucket, `skew${skew}/${path.basename(small)}`), await sha256OfFile(small));
    assert.deepEqual(await listUploads(client, bucket), []);
    const notes = [(await detail(db, 1)).history, (await detail(db, 2)).history].flat().filter((e) => e.kind === 'clock-corrected');
    assert.ok(notes.length >= 1, 'the correction is in a job history');
    assert.match(notes[0]!.message, new RegExp(`clock is ${words} the server's`));
    assert.equal(notes[0]!.code, 'auth.clock-skew');
    // Refused: the first request of each client built before the offset was known, never a storm.
    const refused = refusedAsSkewed();
    assert.ok(refused >= 1 && refused <= 3, `requests refused as skewed: ${refused}`);
    recordResult(`clock-skew${skew}`, {
      what: `hoist's clock ${words} the server's (faketime ${skew}); a 1 MiB PutObject and a 16 MiB multipart upload through the proxy`,
      outcome: `${refused} request(s) refused RequestTimeTooSkewed, then signed with the server's time (from its Date header); both objects whole; clock-corrected in the history`,
    });
  });
}

test('a server that keeps refusing the time while its Date agrees: auth.clock-skew, job failed with its upload kept', async () => {
  const db = path.join(dir, 'uncorrectable.db');
  const file = await writeRandomFile(path.join(dir, 'uncorrectable.mov'), 12 * MiB);
  proxy.reset();
  proxy.addFault({ operation: 'UploadPart', action: { kind: 'status', status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' } });
  try {
    const r = await hoist(['--db', db, '--endpoint', proxy.url, '--path-style', 'upload', file, '--bucket', bucket, '--key', 'uncorrectable.mov', '--single-put-threshold', '0', '--part-size', '5MiB']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /auth\.clock-skew \(UploadPart\): This computer's clock differs too much from the server's/);
    const d = await detail(db, 1);
    assert.equal(d.job.state, 'failed');
    assert.equal(d.job.error?.code, 'auth.clock-skew');
    assert.ok(d.job.uploadId, 'the upload is kept: once the clock is right, hoist retry resumes it');
    assert.ok(!d.history.some((e) => e.kind === 'clock-corrected'), 'nothing to correct: the Date header agrees with this clock');
    recordResult('clock-skew-uncorrectable', {
      what: 'every UploadPart answered 403 RequestTimeTooSkewed while the server Date agrees with our clock',
      outcome: 'auth.clock-skew (UploadPart), not retried, job failed and kept with its upload',
    });
  } finally {
    proxy.clearFaults();
  }
});
