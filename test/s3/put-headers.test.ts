// What a PutObject carries besides its bytes. The part workers send PutObject without the AWS SDK
// (s3/direct-request.ts), so the headers the SDK used to make from the destination's settings are
// Hoist's own: storage class, server-side encryption and its KMS key, content type, user metadata.
// radosgw here has one storage class and no KMS, so it can show none of the first three: the fault
// proxy plays Amazon S3's answer to the PutObject (the ETag an MD5 of the body it got, the encryption
// named as S3 names it) and the test reads the request as the proxy received it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { KMS_KEY_ARN } from '../support/kms-bucket.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, writeRandomFile } from '../support/s3.js';

const { bucket, dir, proxy } = await s3Fixture('put-headers', { proxy: true });

test('a PutObject sent by a part worker carries the destination storage class, SSE-KMS with its key, the content type and the source metadata (Amazon S3 played by the proxy)', async () => {
  proxy.addFault({
    operation: 'PutObject',
    action: {
      kind: 'respond',
      answer: (req) => ({
        status: 200,
        headers: {
          etag: `"${crypto.createHash('md5').update(req.body).digest('hex')}"`,
          'x-amz-server-side-encryption': 'aws:kms',
          'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ARN,
        },
      }),
    },
  });
  const file = await writeRandomFile(path.join(dir, 'A002_C004.mov'), 1 * MiB);
  const db = path.join(dir, 'hoist.db');
  const key = 'headers/A002_C004.mov';
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  const run = await hoist([...cli, 'upload', file, '--bucket', bucket, '--key', key, '--storage-class', 'STANDARD_IA', '--sse', 'aws:kms', '--sse-kms-key-id', KMS_KEY_ARN, '--json'], { HOIST_PART_ATTEMPTS: '1', HOIST_JOB_ATTEMPTS: '1' });
  assert.equal(run.code, 0, run.stderr);
  const job = (JSON.parse(run.stdout) as { jobs: Job[] }).jobs[0]!;
  assert.equal(job.state, 'done');

  const puts = proxy.requests().filter((r) => r.operation === 'PutObject');
  assert.equal(puts.length, 1, 'one PutObject for a 1 MiB file');
  const h = puts[0]!.headers;
  assert.equal(h['x-amz-storage-class'], 'STANDARD_IA');
  assert.equal(h['x-amz-server-side-encryption'], 'aws:kms');
  assert.equal(h['x-amz-server-side-encryption-aws-kms-key-id'], KMS_KEY_ARN);
  assert.equal(h['content-type'], 'video/quicktime', 'the content type comes from the file name');
  assert.equal(h['x-amz-meta-source-size'], String(1 * MiB), 'the source size travels as user metadata');
  assert.ok(h['x-amz-meta-source-mtime'], 'the source mtime travels as user metadata');
  const signed = /SignedHeaders=([^,]+)/.exec(String(h.authorization))?.[1]?.split(';') ?? [];
  for (const name of ['x-amz-storage-class', 'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'content-md5']) {
    assert.ok(signed.includes(name), `${name} is signed (SignedHeaders: ${signed.join(';')})`);
  }
});
