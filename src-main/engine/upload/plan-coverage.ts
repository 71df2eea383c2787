// The check before every CompleteMultipartUpload (issue 13): the parts about to be listed must be
// the whole object and nothing else, numbered 1..N, each starting where the one before ended, from
// byte 0 to the file's size. A plan that falls short (the growing code of an older release stopped
// at 10,000 parts and completed the recording short of its end) is refused, never completed.
import { HoistError } from '../../../shared/errors.js';
import type { PlannedPart } from '../store/rows.js';

/** What is wrong with `parts` as a plan of `size` bytes, or null when they cover it exactly. */
export function planGap(parts: readonly PlannedPart[], size: number): string | null {
  if (parts.length === 0) return size === 0 ? null : `no parts for ${size} bytes`;
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.partNumber !== i + 1) return `part ${i + 1} is missing (found part ${p.partNumber} in its place)`;
    if (p.offset !== offset) return `part ${p.partNumber} starts at byte ${p.offset}, not ${offset} where part ${i} ended`;
    if (!(p.length > 0) && !(parts.length === 1 && size === 0)) return `part ${p.partNumber} is empty`;
    offset += p.length;
  }
  if (offset !== size) return `the parts end at byte ${offset}, the file at ${size}`;
  return null;
}

/** Throws `upload.plan-mismatch` unless `parts` cover `size` bytes exactly. */
export function requireWholePlan(parts: readonly PlannedPart[], size: number): void {
  const gap = planGap(parts, size);
  if (gap) throw new HoistError('upload.plan-mismatch', { detail: gap });
}
