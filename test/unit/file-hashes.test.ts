// Whole-file hashes (issue 8) against values computed by other programs: Debian's xxhsum and
// coreutils, and for C4 a published ID and an independent base58 of sha512sum's digest.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import { FILE_HASH_ALGORITHMS } from '../../shared/states.js';
import { FileHasher, c4Of, hashBuffer, parseHashList } from '../../src-main/engine/upload/file-hashes.js';
import { c4ByHand, toolHash as run } from '../support/mhl.js';
import { tempDir } from '../support/s3.js';

const samples: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['alfa', Buffer.from('alfa')],
  ['3 MiB random', crypto.randomBytes(3 * 1024 * 1024 + 17)],
];

for (const [label, data] of samples) {
  test(`${label}: xxh64, xxh3, xxh128, md5, sha1, sha256 and c4 equal xxhsum, coreutils and a hand-made C4 ID`, async () => {
    const file = path.join(tempDir('hashes'), 'sample.bin');
    fs.writeFileSync(file, data);
    const ours = await hashBuffer(data, FILE_HASH_ALGORITHMS);
    assert.deepEqual(ours, {
      xxh64: run('xxhsum', ['-H1', file]),
      md5: run('md5sum', [file]),
      sha1: run('sha1sum', [file]),
      sha256: run('sha256sum', [file]),
      xxh3: run('xxhsum', ['-H3', file]),
      xxh128: run('xxhsum', ['-H2', file]),
      c4: c4ByHand(file),
    });
    assert.match(ours.xxh64!, /^[0-9a-f]{16}$/);
    assert.match(ours.xxh128!, /^[0-9a-f]{32}$/);
    assert.equal(ours.c4!.length, 90);
  });
}

test('the C4 ID of "alfa" is the one its specification and reference tools publish', () => {
  assert.equal(c4Of('alfa'), 'c43zYcLni5LF9rR4Lg4B8h3Jp8SBwjcnyyeh4bc6gTPHndKuKdjUWx1kJPYhZxYt3zV6tQXpDs2shPsPYjgG81wZM1');
});

test('a digest whose first bytes are zero keeps its value: padded with the zero digit, never shortened', async () => {
  // Search for inputs whose SHA-512 starts with a zero byte (about one in 256).
  let found = 0;
  for (let i = 0; found < 2 && i < 5000; i++) {
    const input = `zero-${i}`;
    if (crypto.createHash('sha512').update(input).digest()[0] !== 0) continue;
    found++;
    const file = path.join(tempDir('c4zero'), 'x');
    fs.writeFileSync(file, input);
    assert.equal(c4Of(input), c4ByHand(file));
  }
  assert.equal(found, 2);
});

test('hashing in chunks of any size gives the same values as one pass', async () => {
  const data = crypto.randomBytes(1024 * 1024 + 3);
  const whole = await hashBuffer(data, FILE_HASH_ALGORITHMS);
  const h = await FileHasher.create(FILE_HASH_ALGORITHMS);
  for (let i = 0; i < data.length; i += 65_537) h.update(data.subarray(i, i + 65_537));
  assert.deepEqual(h.digest(), whole);
});

test('hash lists: comma-separated names in any case, none, and a clear error for anything else', () => {
  assert.deepEqual(parseHashList('xxh64,md5'), ['xxh64', 'md5']);
  assert.deepEqual(parseHashList(' MD5 , xxh64 ,c4'), ['xxh64', 'md5', 'c4']);
  assert.deepEqual(parseHashList('none'), []);
  for (const bad of ['', 'crc32', 'xxh64,sha512', ',']) {
    assert.throws(() => parseHashList(bad), (e: unknown) => e instanceof HoistError && e.code === 'config.invalid' && /xxh64, md5, sha1, sha256, xxh3, xxh128, c4/.test(e.message), bad);
  }
});
