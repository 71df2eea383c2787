import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import { AMAZON_S3_MAX_OBJECT_SIZE, COMPATIBLE_MAX_OBJECT_SIZE, GiB, MAX_PART_SIZE, MiB, MIN_PART_SIZE, TiB } from '../../shared/limits.js';
import { choosePartSize, parseSize, planParts } from '../../src-main/engine/upload/part-plan.js';

const settings = { partSize: 64 * MiB, singlePutThreshold: 100 * MiB, maxObjectSize: COMPATIBLE_MAX_OBJECT_SIZE };

test('part size is the configured size until size/10,000 needs more, rounded up to whole MiB', () => {
  assert.equal(choosePartSize(1 * GiB, 64 * MiB), 64 * MiB);
  assert.equal(choosePartSize(1 * GiB, 1 * MiB), MIN_PART_SIZE, 'never below 5 MiB');
  // 1 TiB / 10,000 = 104.86 MiB -> 105 MiB
  assert.equal(choosePartSize(1 * TiB, 64 * MiB), 105 * MiB);
  assert.equal(choosePartSize(AMAZON_S3_MAX_OBJECT_SIZE, 64 * MiB), MAX_PART_SIZE, 'never above 5 GiB');
  assert.equal(choosePartSize(1 * GiB, 5 * MiB, 100), 11 * MiB, 'a lower part limit raises the size too');
});

test('parts cover the file exactly, in order, with only the last one short', () => {
  const size = 3 * 64 * MiB + 12345;
  const plan = planParts(size, { ...settings, singlePutThreshold: 0 });
  assert.equal(plan.mode, 'multipart');
  assert.equal(plan.parts.length, 4);
  let offset = 0;
  for (const [i, p] of plan.parts.entries()) {
    assert.equal(p.partNumber, i + 1);
    assert.equal(p.offset, offset);
    offset += p.length;
  }
  assert.equal(offset, size);
  assert.equal(plan.parts.at(-1)!.length, 12345);
});

test('0-byte and small files go as one PutObject', () => {
  assert.deepEqual(planParts(0, settings), { mode: 'single', partSize: 0, parts: [{ partNumber: 1, offset: 0, length: 0 }] });
  assert.equal(planParts(100 * MiB - 1, settings).mode, 'single');
  assert.equal(planParts(100 * MiB, settings).mode, 'multipart');
});

test('a file above the destination maximum is refused with limits.too-large', () => {
  assert.throws(() => planParts(COMPATIBLE_MAX_OBJECT_SIZE + 1, settings), (e: unknown) => e instanceof HoistError && e.code === 'limits.too-large' && /5 TiB/.test(e.message));
  assert.equal(planParts(6 * TiB, { ...settings, maxObjectSize: AMAZON_S3_MAX_OBJECT_SIZE }).parts.length <= 10_000, true);
  assert.throws(() => planParts(AMAZON_S3_MAX_OBJECT_SIZE + 1, { ...settings, maxObjectSize: Number.MAX_SAFE_INTEGER }), (e: unknown) => e instanceof HoistError && e.code === 'limits.too-large');
});

test('sizes parse in binary and decimal units', () => {
  assert.equal(parseSize('64MiB'), 64 * MiB);
  assert.equal(parseSize('64M'), 64 * MiB);
  assert.equal(parseSize('5GB'), 5e9);
  assert.equal(parseSize('1048576'), MiB);
  assert.equal(parseSize('1.5GiB'), 1.5 * GiB);
  assert.throws(() => parseSize('lots'), (e: unknown) => e instanceof HoistError && e.code === 'config.invalid');
});
