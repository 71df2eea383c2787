// The multipart ETag of a local file, computed without the server (folders/local-etag.ts), and the
// comparison that decides whether a key holds a file's bytes (remote/same-object.ts): the part
// layout matters, a mismatch on a guessed layout proves nothing, and under SSE-KMS only a checksum does.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MiB } from '../../shared/limits.js';
import { localDigests } from '../../src-main/engine/folders/local-etag.js';
import { compareFile, type RemoteObject } from '../../src-main/engine/remote/same-object.js';
import { compositeChecksum, createChecksummer } from '../../src-main/engine/upload/checksums.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-local-etag-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** S3's rule written out plainly: MD5 of the concatenated binary MD5s of each part, then -N. */
function etagBySlices(bytes: Buffer, partSize: number): string {
  const md5s: Buffer[] = [];
  for (let at = 0; at < bytes.length || md5s.length === 0; at += partSize) md5s.push(crypto.createHash('md5').update(bytes.subarray(at, at + partSize)).digest());
  return `${crypto.createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}`;
}

const bytes = crypto.randomBytes(13 * MiB + 12345);
const clip = file('clip.mov', bytes);

test('the multipart ETag of a file is computed locally for any part layout, in one read', async () => {
  const sizes = [5 * MiB, 6 * MiB, 8 * MiB, 13 * MiB + 12345, 64 * MiB];
  const got = await localDigests(clip, { md5: true, partSizes: sizes });
  assert.ok(got);
  for (const p of sizes) assert.equal(got.etags.get(p), etagBySlices(bytes, p), `parts of ${p}`);
  assert.equal(got.etags.get(5 * MiB)?.endsWith('-3'), true, '13 MiB in 5 MiB parts is 3 parts');
  assert.equal(got.etags.get(64 * MiB)?.endsWith('-1'), true, 'one part when the file is smaller');
  assert.equal(got.md5, crypto.createHash('md5').update(bytes).digest('hex'));
  // A file that is an exact multiple of the part size has no empty last part.
  const even = file('even.mov', bytes.subarray(0, 10 * MiB));
  assert.equal((await localDigests(even, { partSizes: [5 * MiB] }))?.etags.get(5 * MiB), etagBySlices(bytes.subarray(0, 10 * MiB), 5 * MiB));
  assert.ok(etagBySlices(bytes.subarray(0, 10 * MiB), 5 * MiB).endsWith('-2'));
});

test('full-object and composite checksums are computed locally as S3 stores them', async () => {
  const whole = createChecksummer('crc32c');
  whole.update(bytes);
  const got = await localDigests(clip, { checksum: { algorithm: 'crc32c', partSize: null } });
  assert.equal(got?.checksum, whole.digest().toString('base64'));
  const parts: string[] = [];
  for (let at = 0; at < bytes.length; at += 5 * MiB) {
    const c = createChecksummer('sha256');
    c.update(bytes.subarray(at, at + 5 * MiB));
    parts.push(c.digest().toString('base64'));
  }
  const composite = await localDigests(clip, { checksum: { algorithm: 'sha256', partSize: 5 * MiB } });
  assert.equal(composite?.checksum, compositeChecksum('sha256', parts));
  assert.ok(composite?.checksum?.endsWith('-3'));
});

const remote = (o: Partial<RemoteObject>): RemoteObject => ({ etag: '', size: bytes.length, encryption: null, parts: 0, firstPartSize: null, checksum: null, ...o });

test('same bytes: same; the part size told by the server (HeadObject PartNumber=1) settles a mismatch as differs', async () => {
  const etag = etagBySlices(bytes, 6 * MiB);
  assert.equal((await compareFile(clip, bytes.length, remote({ etag, parts: 3, firstPartSize: 6 * MiB }))).verdict, 'same');
  const other = Buffer.from(bytes);
  other[7 * MiB] = other[7 * MiB]! ^ 1;
  const changed = file('changed.mov', other);
  const c = await compareFile(changed, other.length, remote({ etag, parts: 3, firstPartSize: 6 * MiB }));
  assert.equal(c.verdict, 'differs', c.why);
  assert.equal((await compareFile(clip, bytes.length, remote({ etag: crypto.createHash('md5').update(bytes).digest('hex') }))).verdict, 'same', 'a single-part object: its MD5');
  assert.equal((await compareFile(clip, bytes.length - 1, remote({ etag }))).verdict, 'differs', 'another size differs without a read');
  assert.equal((await compareFile(clip, bytes.length, null)).verdict, 'missing');
});

test('an unknown part size: a likely one that matches proves it, none matching cannot tell (never "differs")', async () => {
  const etag = etagBySlices(bytes, 6 * MiB);
  const hinted = await compareFile(clip, bytes.length, remote({ etag, parts: 3 }), [6 * MiB]);
  assert.equal(hinted.verdict, 'same', hinted.why);
  // Parts of 10 MiB make 2 parts, as 7 and 8 MiB would: none of those tried matches, and nothing tells which it was.
  const unknown = await compareFile(clip, bytes.length, remote({ etag: etagBySlices(bytes, 10 * MiB), parts: 2 }), [5 * MiB]);
  assert.equal(unknown.verdict, 'cannot-tell', unknown.why);
  assert.match(unknown.why, /does not tell its part size/);
});

test('under SSE-KMS the ETag proves nothing: a full-object checksum does, else cannot tell', async () => {
  const md5 = crypto.createHash('md5').update(bytes).digest('hex');
  const kms = await compareFile(clip, bytes.length, remote({ etag: md5, encryption: 'aws:kms' }));
  assert.equal(kms.verdict, 'cannot-tell', 'not even an ETag that happens to look like the MD5');
  assert.match(kms.why, /SSE-KMS/);
  const crc = createChecksummer('crc32');
  crc.update(bytes);
  const value = crc.digest().toString('base64');
  assert.equal((await compareFile(clip, bytes.length, remote({ etag: 'f'.repeat(32), encryption: 'aws:kms', checksum: { algorithm: 'crc32', value, type: 'FULL_OBJECT' } }))).verdict, 'same');
  assert.equal((await compareFile(clip, bytes.length, remote({ etag: 'f'.repeat(32), encryption: 'aws:kms', checksum: { algorithm: 'crc32', value: 'AAAAAA==', type: 'FULL_OBJECT' } }))).verdict, 'differs');
});
