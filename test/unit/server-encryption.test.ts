// Which answers leave an ETag comparable with the MD5 computed here, and how a job's proof reads
// (s3/server-encryption.ts); the S3 tier shows it end to end (test/s3/sse-etag.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encryptionOf, etagComparable, integrityProof, strongestEncryption, usesKms } from '../../src-main/engine/s3/server-encryption.js';

test('the encryption an answer names: SSE-C by its algorithm header, else x-amz-server-side-encryption, else none', () => {
  assert.equal(encryptionOf({}), null);
  assert.equal(encryptionOf({ ServerSideEncryption: 'AES256' }), 'AES256');
  assert.equal(encryptionOf({ ServerSideEncryption: 'aws:kms' }), 'aws:kms');
  assert.equal(encryptionOf({ ServerSideEncryption: 'aws:kms:dsse' }), 'aws:kms:dsse');
  assert.equal(encryptionOf({ SSECustomerAlgorithm: 'AES256' }), 'SSE-C');
});

test('an ETag is compared with none named and under SSE-S3 only; a mix takes the one that forbids it', () => {
  assert.deepEqual([null, 'AES256', 'aws:kms', 'aws:kms:dsse', 'SSE-C', 'aws:fsx'].map(etagComparable), [true, true, false, false, false, false]);
  assert.equal(strongestEncryption(null, 'aws:kms'), 'aws:kms');
  assert.equal(strongestEncryption('AES256', null), 'AES256');
  assert.equal(strongestEncryption(null, null), null);
  assert.equal(strongestEncryption('AES256', 'SSE-C'), 'SSE-C');
  assert.deepEqual(['aws:kms', 'aws:kms:dsse', 'AES256', null].map(usesKms), [true, true, false, false]);
});

test('the proof a job records never counts an ETag that was not compared, and names a checksum only when the server echoed it', () => {
  assert.deepEqual(integrityProof({ multipart: true, encryption: null, etag: 'matched', checksum: null }), {
    etagVerified: true,
    integrity: "ETag matched the MD5 of the parts' MD5s; Content-MD5 accepted by the server for every part",
    proof: 'etag',
  });
  assert.deepEqual(integrityProof({ multipart: true, encryption: 'aws:kms', etag: 'not-comparable', checksum: { algorithm: 'crc32c', echoed: true } }), {
    etagVerified: false,
    integrity: 'Content-MD5 accepted by the server for every part; CRC32C echoed by the server and matched for every part; ETag not comparable under SSE-KMS',
    proof: 'content-md5',
  });
  assert.deepEqual(integrityProof({ multipart: false, encryption: 'SSE-C', etag: 'not-comparable', checksum: { algorithm: 'sha256', echoed: false } }), {
    etagVerified: false,
    integrity: 'Content-MD5 accepted by the server; ETag not comparable under SSE-C',
    proof: 'content-md5',
  });
  assert.equal(integrityProof({ multipart: true, encryption: null, etag: 'unavailable', checksum: null }).etagVerified, false);
});

test('without Content-MD5 the checksum the server verifies is the proof, and a full-object checksum it returned the strongest', () => {
  // A server shown to verify checksums (issue 12): no MD5 was computed, so no ETag claim either way.
  assert.deepEqual(integrityProof({ multipart: true, encryption: null, etag: 'not-comparable', checksum: { algorithm: 'crc32c', echoed: true }, contentMd5: false }), {
    etagVerified: false,
    integrity: 'CRC32C verified by the server for every part (it refuses a wrong one with BadDigest)',
    proof: 'checksum',
  });
  assert.deepEqual(
    integrityProof({ multipart: true, encryption: null, etag: 'not-comparable', checksum: { algorithm: 'crc32c', echoed: true }, contentMd5: false, fullObject: { algorithm: 'crc32c', value: 'AAAAAA==', by: 'Complete and HeadObject' } }),
    {
      etagVerified: false,
      integrity: "full-object CRC32C AAAAAA== returned by Complete and HeadObject equal to the file's; CRC32C verified by the server for every part (it refuses a wrong one with BadDigest)",
      proof: 'full-object-checksum',
      fullObjectChecksum: 'AAAAAA==',
    },
  );
});
