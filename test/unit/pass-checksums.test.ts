// Parts' checksums from the whole-file hash pass (issue 12): the pass's chunks are cut at the part
// boundaries whatever their size, a resumed pass reports only the parts wholly after its first byte,
// and a part asked for before the pass reached it waits for it, or gets nothing once the pass ends.
// Expected values by aws-crt and node:zlib directly (test/support/checksum-of.ts), not by Hoist's code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { PassChecksums } from '../../src-main/engine/scheduler/pass-checksums.js';
import { PartChecksumFeed } from '../../src-main/engine/upload/part-checksum-feed.js';
import { checksumOf } from '../support/checksum-of.js';

const PART = 5 * 1024 * 1024 + 3;
const data = randomBytes(3 * PART + 12_345);
const snap = { size: data.length, mtimeMs: 1, inode: '7' };

/** Feeds `data` from `from` in chunks of `chunk` bytes; returns what the feed reported. */
function feed(algorithm: 'crc32' | 'crc32c', from: number, chunk: number): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  const f = new PartChecksumFeed(algorithm, PART, data.length, from, (o, l, c) => out.push([o, l, c]));
  for (let at = from; at < data.length; at += chunk) f.update(data.subarray(at, Math.min(at + chunk, data.length)));
  return out;
}

function expected(algorithm: 'crc32' | 'crc32c', fromPart: number): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  for (let o = fromPart * PART; o < data.length; o += PART) {
    const part = data.subarray(o, Math.min(o + PART, data.length));
    out.push([o, part.length, checksumOf(algorithm, part)]);
  }
  return out;
}

test('every part\'s CRC from an in-order read, chunks straddling the part boundaries, the last part short', () => {
  for (const chunk of [4 * 1024 * 1024, 1_000_003, PART, 2 * PART + 1]) {
    assert.deepEqual(feed('crc32c', 0, chunk), expected('crc32c', 0), `chunks of ${chunk}`);
  }
  assert.deepEqual(feed('crc32', 0, 4 * 1024 * 1024), expected('crc32', 0));
});

test('a pass resumed inside a part reports only the parts wholly after its first byte', () => {
  assert.deepEqual(feed('crc32c', PART + 17, 4 * 1024 * 1024), expected('crc32c', 2));
  assert.deepEqual(feed('crc32c', 2 * PART, 4 * 1024 * 1024), expected('crc32c', 2), 'from a boundary: that part too');
});

test('a part asked for before the pass reached it waits for its CRC; one the pass will not report gets none', async () => {
  const known = new PassChecksums('crc32c', snap, PART + 17);
  const second = known.forPart(2 * PART, PART, 'crc32c', snap);
  const third = known.forPart(3 * PART, 12_345, 'crc32c', snap);
  known.add(2 * PART, PART, 'AAAAAg==');
  assert.equal(await second, 'AAAAAg==');
  assert.equal(await known.forPart(0, PART, 'crc32c', snap), null, 'before the pass\'s start: hashed by itself');
  assert.equal(await known.forPart(2 * PART, PART, 'crc32', snap), null, 'another algorithm');
  assert.equal(await known.forPart(2 * PART, PART, 'crc32c', { ...snap, mtimeMs: 2 }), null, 'another snapshot of the file');
  assert.equal(await known.forPart(2 * PART, PART - 1, 'crc32c', snap), null, 'another length');
  known.end();
  assert.equal(await third, null, 'the pass ended without it');
});
