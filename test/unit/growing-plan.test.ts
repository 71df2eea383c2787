// The part plan of a growing file (issue 13, item 6): within the destination's maxParts and
// maxObjectSize at every step, every byte covered once the file is final, parts not yet sent
// planned again when the limits leave them too small, and `limits.too-large` as soon as nothing can
// hold the file. And the check before every Complete: the parts must cover the file exactly.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import { GiB, MAX_PART_SIZE, MIN_PART_SIZE, MiB, TiB } from '../../shared/limits.js';
import { GrowingUploads } from '../../src-main/engine/folders/growing.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore, type PlannedPart } from '../../src-main/engine/store/job-store.js';
import { growingSchedule, planGrowingParts, type GrowingLimits } from '../../src-main/engine/upload/growing-plan.js';
import { planGap } from '../../src-main/engine/upload/plan-coverage.js';
import { tempDir } from '../support/s3.js';

const tooLarge = (e: unknown) => e instanceof HoistError && e.code === 'limits.too-large';

/** All but the last part 5 MiB..5 GiB, numbered 1..N from byte 0, within maxParts. */
function assertValidPlan(parts: readonly PlannedPart[], size: number, l: GrowingLimits): void {
  assert.equal(planGap(parts, size), null);
  assert.ok(parts.length <= l.maxParts, `${parts.length} parts > ${l.maxParts}`);
  parts.slice(0, -1).forEach((p) => assert.ok(p.length >= MIN_PART_SIZE && p.length <= MAX_PART_SIZE, `part ${p.partNumber}: ${p.length}`));
  assert.ok(parts.at(-1)!.length <= MAX_PART_SIZE);
}

/**
 * A recording as the watcher sees it: the file grows by `step` bytes at a time, each look plans the
 * whole parts it now has (those planned before are sent meanwhile), and the last look is final.
 */
function record(size: number, step: number, l: GrowingLimits): PlannedPart[] {
  const parts: PlannedPart[] = [];
  const next = () => {
    const last = parts.at(-1);
    return { partNumber: (last?.partNumber ?? 0) + 1, offset: last ? last.offset + last.length : 0 };
  };
  for (let seen = step; seen < size; seen += step) parts.push(...planGrowingParts({ next: next(), size: seen, final: false, limits: l }));
  parts.push(...planGrowingParts({ next: next(), size, final: true, limits: l }));
  return parts;
}

test('a recording of the largest object a destination takes is planned whole within its parts (the old plan stopped at 10,000 parts of 5 MiB, 4.88 TiB)', () => {
  const l = { basePartSize: 5 * MiB, maxParts: 10_000, maxObjectSize: 5 * TiB };
  const parts = record(5 * TiB, 7 * GiB + 12345, l);
  assertValidPlan(parts, 5 * TiB, l);
  assert.equal(parts[0]!.length, 5 * MiB, 'the first parts are the destination part size');
});

test('across limits and sizes: whole parts while growing, exactly the file when final, never more parts than allowed', () => {
  const cases: GrowingLimits[] = [
    { basePartSize: 5 * MiB, maxParts: 8, maxObjectSize: 200 * MiB },
    { basePartSize: 5 * MiB, maxParts: 8, maxObjectSize: 5 * TiB },
    { basePartSize: 64 * MiB, maxParts: 10_000, maxObjectSize: 5 * TiB },
    { basePartSize: 64 * MiB, maxParts: 10_000, maxObjectSize: 10_000 * 5 * GiB },
    { basePartSize: 16 * MiB, maxParts: 1000, maxObjectSize: 5 * TiB },
    { basePartSize: 5 * MiB, maxParts: 2, maxObjectSize: 5 * TiB },
  ];
  for (const l of cases) {
    const reach = growingSchedule(l).tail[1]!;
    for (const size of [l.basePartSize, 3 * l.basePartSize + 1, Math.floor(reach / 3), Math.min(reach, l.maxObjectSize)]) {
      const parts = record(size, Math.max(MiB, Math.floor(size / 97)), l);
      assertValidPlan(parts, size, l);
    }
  }
});

test('nothing can hold it: limits.too-large as soon as the file is larger than the destination takes, or than the parts left can hold', () => {
  const l = { basePartSize: 5 * MiB, maxParts: 8, maxObjectSize: 24 * MiB };
  assert.deepEqual(planGrowingParts({ next: { partNumber: 1, offset: 0 }, size: 24 * MiB, final: true, limits: l }).length, 5);
  assert.throws(() => planGrowingParts({ next: { partNumber: 1, offset: 0 }, size: 24 * MiB + 1, final: false, limits: l }), tooLarge);
  // 7 parts of 5 MiB sent under an older limit: one part number left, at most 5 GiB more.
  const late = { basePartSize: 5 * MiB, maxParts: 8, maxObjectSize: 5 * TiB };
  assert.equal(planGrowingParts({ next: { partNumber: 8, offset: 35 * MiB }, size: 35 * MiB + 5 * GiB, final: true, limits: late }).length, 1);
  assert.throws(() => planGrowingParts({ next: { partNumber: 8, offset: 35 * MiB }, size: 35 * MiB + 5 * GiB + 1, final: false, limits: late }), tooLarge);
  assert.throws(() => planGrowingParts({ next: { partNumber: 9, offset: 40 * MiB }, size: 40 * MiB + 1, final: true, limits: late }), tooLarge);
});

test('the parts not sent yet are planned again, larger, when the destination allows fewer parts; those sent stay', () => {
  const dir = tempDir('growing-plan');
  const store = new JobStore(openDatabase(path.join(dir, 'hoist.db')).db);
  const input = {
    name: 'rec', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'b', prefix: '', pathStyle: true, profile: null, storageClass: null,
    sse: null, sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 0, maxObjectSize: 5 * TiB, maxParts: 10_000, checksumAlgorithm: null,
  };
  const dest = store.upsertDestination(input);
  const growing = new GrowingUploads(store);
  const snap = (size: number) => ({ size, mtimeMs: 1, inode: '7' });
  const job = growing.start({ dest, file: '/rec/take.mov', key: 'take.mov', priority: 'normal' }, snap(30 * MiB))!;
  assert.deepEqual(store.parts(job.id).map((p) => p.length / MiB), [5, 5, 5, 5, 5, 5]);
  // Parts 1 and 2 went out; 3 is on the wire; 4..6 wait.
  for (const n of [1, 2, 3]) store.markPartSending(job.id, n);
  for (const n of [1, 2]) store.markPartDone(job.id, n, 'e', 'm', null);
  store.updateDestination(dest.id, { ...input, maxParts: 8, maxObjectSize: 200 * MiB });
  assert.equal(growing.extend(store.getJob(job.id)!, snap(60 * MiB)), true);
  const parts = store.parts(job.id);
  assert.deepEqual(parts.slice(0, 3).map((p) => [p.partNumber, p.length / MiB, p.state]), [[1, 5, 'done'], [2, 5, 'done'], [3, 5, 'sending']]);
  assert.ok(parts.slice(3).every((p) => p.length > 5 * MiB && p.state === 'pending'), JSON.stringify(parts));
  assert.equal(store.getJob(job.id)!.partCount, parts.length);
  assert.ok(store.events(job.id).some((e) => e.kind === 'parts-replanned'));
  assert.equal(growing.finish(store.getJob(job.id)!, snap(61 * MiB)), true);
  const final = store.parts(job.id);
  assert.equal(planGap(final, 61 * MiB), null);
  assert.ok(final.length <= 8, `${final.length} parts`);
  assert.equal(store.getJob(job.id)!.size, 61 * MiB);
});

test('a file that outgrows its destination: the job fails limits.too-large, its upload owed an abort, nothing more appended', () => {
  const dir = tempDir('growing-plan');
  const store = new JobStore(openDatabase(path.join(dir, 'hoist.db')).db);
  const dest = store.upsertDestination({
    name: 'small', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'b', prefix: '', pathStyle: true, profile: null, storageClass: null,
    sse: null, sseKmsKeyId: null, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 0, maxObjectSize: 24 * MiB, maxParts: 8, checksumAlgorithm: null,
  });
  const growing = new GrowingUploads(store);
  const snap = (size: number) => ({ size, mtimeMs: 1, inode: '9' });
  const job = growing.start({ dest, file: '/rec/big.mov', key: 'big.mov', priority: 'normal' }, snap(12 * MiB))!;
  store.recordUploadCreated(job.id, 'upload-1', 'created');
  assert.equal(growing.extend(store.getJob(job.id)!, snap(25 * MiB)), false);
  const refused = store.getJob(job.id)!;
  assert.equal(refused.state, 'failed');
  assert.equal(refused.error?.code, 'limits.too-large');
  assert.equal(refused.growing, 0);
  assert.equal(refused.uploadId, null);
  assert.deepEqual(store.remoteAbortsOf(job.id).map((a) => a.uploadId), ['upload-1']);
  assert.equal(growing.extend(refused, snap(30 * MiB)), false);
  assert.equal(growing.refused(refused, snap(30 * MiB), dest), true, 'too large for an ordinary upload as well');
  assert.equal(growing.refused(refused, { ...snap(20 * MiB), inode: '10' }, dest), false, 'another file under that name is not');
});

test('the check before Complete: parts numbered 1..N, contiguous from 0 to the size, nothing more', () => {
  const p = (partNumber: number, offset: number, length: number) => ({ partNumber, offset, length });
  assert.equal(planGap([p(1, 0, 5), p(2, 5, 3)], 8), null);
  assert.equal(planGap([p(1, 0, 0)], 0), null);
  assert.equal(planGap([], 0), null);
  assert.match(planGap([p(1, 0, 5), p(2, 5, 3)], 10)!, /end at byte 8, the file at 10/);
  assert.match(planGap([p(1, 0, 5), p(3, 5, 5)], 10)!, /part 2 is missing/);
  assert.match(planGap([p(1, 0, 5), p(2, 6, 4)], 10)!, /starts at byte 6, not 5/);
  assert.match(planGap([p(1, 0, 5), p(2, 4, 6)], 10)!, /starts at byte 4, not 5/);
  assert.match(planGap([p(1, 0, 10), p(2, 10, 2)], 10)!, /end at byte 12/);
  assert.match(planGap([], 3)!, /no parts/);
});
