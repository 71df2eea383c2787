// What a job does at a key that may already hold an object: the --if-exists policies as a pure
// decision over what same-object.ts found there, the keep-both key names, and the conditional
// write that makes the decision hold against another client racing for the key (If-None-Match: *
// when the key was empty, If-Match: the ETag seen when replacing). docs/architecture.md, invariant 12.
import { HoistError } from '../../../shared/errors.js';
import { MAX_KEY_BYTES } from '../../../shared/limits.js';
import type { IfExistsPolicy, JobOutcome } from '../../../shared/states.js';
import type { WriteCondition } from '../s3/conditions.js';
import type { Comparison } from './same-object.js';

/** What `keySeen` holds for a job whose policy is overwrite: it did not look, and sends without a condition. */
export const NOT_LOOKED = '*';

export type KeyAction =
  /** Send the file to this key; `keySeen` is the ETag it may replace ('' for none), recorded for the conditional write. */
  | { act: 'send'; keySeen: string; outcome: Extract<JobOutcome, 'created' | 'replaced'> }
  /** The object is the file's bytes: nothing to send. */
  | { act: 'already-there'; etag: string }
  /** never-overwrite: the key holds other (or unknowable) bytes. */
  | { act: 'refuse'; why: string }
  /** keep-both: the key holds other (or unknowable) bytes; try the next suffixed key. */
  | { act: 'next-key'; why: string };

/**
 * The policy applied to what the key holds. Only a proof ('same') ever spares a send: where the
 * bytes cannot be told (SSE-KMS without a checksum, an unknown part size), skip-identical replaces
 * (as sync tools do: sending again costs bandwidth, skipping a changed file would lose it),
 * keep-both keeps both and never-overwrite refuses. Not for `overwrite`, which does not look.
 */
export function decideAtKey(policy: Exclude<IfExistsPolicy, 'overwrite'>, c: Comparison): KeyAction {
  if (c.verdict === 'missing' || !c.remote) return { act: 'send', keySeen: '', outcome: 'created' };
  if (c.verdict === 'same') return { act: 'already-there', etag: c.remote.etag };
  if (policy === 'skip-identical') return { act: 'send', keySeen: c.remote.etag, outcome: 'replaced' };
  if (policy === 'keep-both') return { act: 'next-key', why: c.why };
  return { act: 'refuse', why: c.why };
}

/** The condition a write sends for what the job saw at its key; none for overwrite (or before it decided). */
export function writeCondition(keySeen: string | null): WriteCondition | null {
  if (keySeen === null || keySeen === NOT_LOOKED) return null;
  return keySeen === '' ? { ifNoneMatch: '*' } : { ifMatch: keySeen };
}

/**
 * keep-both's n-th other key: ` (n)` before the last extension of the key's last segment, as a
 * desktop does (`day01/A001_C003.mov` → `day01/A001_C003 (1).mov`; `notes` → `notes (1)`;
 * `.hidden` → `.hidden (1)`). Refused as limits.key-too-long past S3's 1,024 bytes.
 */
export function keptBothKey(key: string, n: number): string {
  const slash = key.lastIndexOf('/');
  const dir = key.slice(0, slash + 1);
  const name = key.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const out = `${dir}${stem} (${n})${ext}`;
  if (Buffer.byteLength(out, 'utf8') > MAX_KEY_BYTES) throw new HoistError('limits.key-too-long', { detail: out });
  return out;
}

/** How a history entry names a condition. */
export function describeCondition(c: WriteCondition | null): string {
  if (!c) return 'no condition';
  return 'ifNoneMatch' in c ? 'If-None-Match: *' : `If-Match: ${c.ifMatch}`;
}
