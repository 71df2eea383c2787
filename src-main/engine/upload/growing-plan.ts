// The part plan of a file that is still being written (issue 3, issue 13): its final size is
// unknown, so parts are planned as it grows, within the destination's limits (maxParts,
// maxObjectSize). Part sizes follow a schedule that starts at the destination's part size and grows
// geometrically just fast enough that maxParts parts reach the largest object the plan aims for;
// parts not yet sent are planned again (larger) when the file runs ahead of the schedule; and a file
// that no plan can hold any more is refused with `limits.too-large` as soon as it is that large,
// never completed short of its end. S3 wants every part but the last to be 5 MiB..5 GiB; parts may
// differ in size.
import { HoistError } from '../../../shared/errors.js';
import { MAX_PART_SIZE, MiB } from '../../../shared/limits.js';
import type { PlannedPart } from '../store/rows.js';
import { formatBytes } from './part-plan.js';

export interface GrowingLimits {
  /** The destination's part size (5 MiB..5 GiB): the first parts' size. */
  basePartSize: number;
  maxParts: number;
  maxObjectSize: number;
}

/**
 * The largest file the schedule is made to reach: the destination's maximum object size, or half
 * of what maxParts parts of 5 GiB hold if that is less (Amazon S3: 24.4 TiB of its 48.8 TiB), so
 * that the first parts stay small and go out while the file is written. Past it the parts not yet
 * sent are raised as far as they must (`nextPartSize`), up to what the part numbers left can hold.
 */
export function growingTarget(l: GrowingLimits): number {
  return Math.min(l.maxObjectSize, Math.floor(l.maxParts / 2) * MAX_PART_SIZE || MAX_PART_SIZE);
}

interface Schedule {
  /** size[n]: the planned size of part n (1-based; size[0] unused). */
  size: Float64Array;
  /** tail[n]: the sizes of parts n..maxParts added up (tail[maxParts + 1] = 0). */
  tail: Float64Array;
}

const schedules = new Map<string, Schedule>();

function sizesFor(l: GrowingLimits, growth: number): Float64Array {
  const size = new Float64Array(l.maxParts + 1);
  let raw = l.basePartSize;
  for (let n = 1; n <= l.maxParts; n++) {
    size[n] = Math.min(MAX_PART_SIZE, Math.max(l.basePartSize, Math.floor(raw / MiB) * MiB));
    raw = Math.min(raw * growth, MAX_PART_SIZE * 2);
  }
  return size;
}

function reachOf(size: Float64Array): number {
  let sum = 0;
  for (let n = 1; n < size.length; n++) sum += size[n]!;
  return sum;
}

/**
 * Part n's size is the base size times g^(n-1), rounded down to a whole MiB, within
 * base..5 GiB, with g the smallest growth (found by bisection) whose maxParts parts reach the
 * target; the fastest growth when none does.
 */
export function growingSchedule(l: GrowingLimits): Schedule {
  const key = `${l.basePartSize}:${l.maxParts}:${l.maxObjectSize}`;
  const known = schedules.get(key);
  if (known) return known;
  const target = growingTarget(l);
  let low = 1;
  let high = Math.max(2, MAX_PART_SIZE / l.basePartSize);
  if (reachOf(sizesFor(l, low)) < target) {
    if (reachOf(sizesFor(l, high)) >= target) {
      for (let i = 0; i < 60 && high - low > 1e-12; i++) {
        const mid = (low + high) / 2;
        if (reachOf(sizesFor(l, mid)) >= target) high = mid;
        else low = mid;
      }
    }
  } else {
    high = low;
  }
  const size = sizesFor(l, high);
  const tail = new Float64Array(l.maxParts + 2);
  for (let n = l.maxParts; n >= 1; n--) tail[n] = tail[n + 1]! + size[n]!;
  const schedule = { size, tail };
  if (schedules.size > 64) schedules.clear();
  schedules.set(key, schedule);
  return schedule;
}

/**
 * The size of part `n`, starting at byte `offset`, for a file that must be able to reach `target`
 * bytes: the schedule's, or more when the parts before it fell behind (planned under other limits,
 * or the file ran past the schedule's target), as much more as the schedule's later parts need.
 */
function nextPartSize(s: Schedule, n: number, offset: number, target: number): number {
  const behind = target - offset - s.tail[n + 1]!;
  return Math.min(MAX_PART_SIZE, Math.max(s.size[n]!, Math.ceil(behind / MiB) * MiB));
}

export interface GrowingPlanInput {
  /** Where the parts that stay end: the next part's number and first byte. */
  next: { partNumber: number; offset: number };
  /** The bytes the file has now. */
  size: number;
  /** The file stopped growing: the remainder is planned too (the last part may be short). */
  final: boolean;
  limits: GrowingLimits;
}

/**
 * The parts after those that stay: whole parts only while the file grows, every byte once it is
 * final. Throws `limits.too-large` once the file is larger than the destination accepts, or than
 * the part numbers left can hold even at 5 GiB each.
 */
export function planGrowingParts(input: GrowingPlanInput): PlannedPart[] {
  const { next, size, final, limits } = input;
  const left = Math.max(0, limits.maxParts - next.partNumber + 1);
  if (size > limits.maxObjectSize) {
    throw new HoistError('limits.too-large', {
      message: `The file being written reached ${formatBytes(size)} (${size} bytes), more than the ${formatBytes(limits.maxObjectSize)} this destination accepts as one object; its upload was stopped and aborted.`,
    });
  }
  if (size - next.offset > left * MAX_PART_SIZE) {
    throw new HoistError('limits.too-large', {
      message: `The file being written reached ${formatBytes(size)} (${size} bytes): ${next.partNumber - 1} of this destination's ${limits.maxParts} parts are sent, and the ${left} left cannot hold the remaining ${formatBytes(size - next.offset)} even at ${formatBytes(MAX_PART_SIZE)} each; its upload was stopped and aborted.`,
    });
  }
  const schedule = growingSchedule(limits);
  const target = final ? size : Math.max(growingTarget(limits), size);
  const out: PlannedPart[] = [];
  let { partNumber, offset } = next;
  while (offset < size && partNumber <= limits.maxParts) {
    const length = nextPartSize(schedule, partNumber, offset, target);
    if (!final && offset + length > size) break;
    const take = Math.min(length, size - offset);
    out.push({ partNumber, offset, length: take });
    offset += take;
    partNumber++;
  }
  // Unreachable after the checks above; a plan short of a final file must never be completed.
  if (final && offset < size) throw new HoistError('limits.too-large', { message: `The file's ${size} bytes do not fit in ${limits.maxParts} parts.` });
  return out;
}
