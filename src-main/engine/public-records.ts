// Engine records as the shared contract shows them: only the contract's fields, listed, so that a
// column the engine adds never leaks to a renderer or to `--json` by itself.
import type { MhlBatch, Part } from '../../shared/types.js';
import type { BatchRecord } from './store/batch-store.js';
import type { PartRecord } from './store/job-store.js';

export function pick<T>(record: T, fields: Record<keyof T, true>): T {
  const out = {} as T;
  for (const field of Object.keys(fields) as (keyof T)[]) out[field] = record[field];
  return out;
}

const BATCH_FIELDS = {
  id: true, destinationId: true, root: true, bucket: true, keyPrefix: true, state: true, generation: true, manifestKey: true,
  jobs: true, error: true, createdAt: true, writtenAt: true,
} as const satisfies Record<keyof MhlBatch, true>;

/** An ASC MHL batch as the contract shows it. */
export function publicBatchOf(record: BatchRecord): MhlBatch {
  return pick<MhlBatch>(record, BATCH_FIELDS);
}

const PART_FIELDS = {
  partNumber: true, offset: true, length: true, state: true, etag: true, md5: true, checksum: true, sends: true,
} as const satisfies Record<keyof Part, true>;

/** A part as the contract shows it. */
export function publicPartOf(record: PartRecord): Part {
  return pick<Part>(record, PART_FIELDS);
}
