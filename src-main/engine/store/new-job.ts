// The one place a job row is made from a file and where it goes: the engine's enqueue, a growing
// file, a rename copied server-side, an upload adopted from the bucket and a rebuilt database all
// build their rows here, so a new column gets its default once.
import type MimeTypes from 'mime-types';
import type { Destination } from '../../../shared/types.js';
import type { ChecksumAlgorithm, FileHashAlgorithm, IfExistsPolicy, Priority, UploadMode } from '../../../shared/states.js';
import { DEFAULT_IF_EXISTS } from '../../../shared/states.js';
import type { GrowingState, JobOrigin, MhlPlace, NewJob } from './rows.js';
import { requireCjs } from '../cjs.js';

// Through require, not import (cjs.ts).
const mime = requireCjs('mime-types') as typeof MimeTypes;

export interface JobSource {
  dest: Pick<Destination, 'id' | 'bucket' | 'checksumAlgorithm'> & Partial<Pick<Destination, 'ifExists' | 'integrity'>>;
  sourcePath: string;
  key: string;
  /** The file as stat showed it (a growing file: the bytes its first parts cover). */
  snapshot: { size: number; mtimeMs: number; inode: string };
  plan: { mode: UploadMode; partSize: number };
  /** Default: normal. */
  priority?: Priority;
  /** Default: the destination's; null sends none. A checksum named here is the job's integrity mode too (the upload's `--checksum`). */
  checksumAlgorithm?: ChecksumAlgorithm | null;
  /** Default: from the file's name. */
  contentType?: string;
  growing?: GrowingState;
  hashAlgorithms?: readonly FileHashAlgorithm[];
  mhl?: MhlPlace | null;
  batchId?: number | null;
  /** Default: the destination's policy (skip-identical when it has none). */
  ifExists?: IfExistsPolicy;
  /** The machine that makes it and, for a watched file, its folder and path under it (a shared queue claims by these). */
  origin?: JobOrigin;
}

/** The row `JobStore.insertJob` records for this file (with its planned parts). */
export function newJob(src: JobSource): NewJob {
  return {
    destinationId: src.dest.id,
    sourcePath: src.sourcePath,
    bucket: src.dest.bucket,
    key: src.key,
    size: src.snapshot.size,
    mtimeMs: src.snapshot.mtimeMs,
    inode: src.snapshot.inode,
    contentType: src.contentType ?? (mime.lookup(src.sourcePath) || 'application/octet-stream'),
    mode: src.plan.mode,
    partSize: src.plan.partSize,
    priority: src.priority ?? 'normal',
    checksumAlgorithm: src.checksumAlgorithm === undefined ? src.dest.checksumAlgorithm : src.checksumAlgorithm,
    ...(src.growing !== undefined ? { growing: src.growing } : {}),
    ...(src.hashAlgorithms !== undefined ? { hashAlgorithms: src.hashAlgorithms } : {}),
    ...(src.mhl !== undefined ? { mhl: src.mhl } : {}),
    ...(src.batchId !== undefined ? { batchId: src.batchId } : {}),
    ifExists: src.ifExists ?? src.dest.ifExists ?? DEFAULT_IF_EXISTS,
    integrityMode: src.checksumAlgorithm ? src.checksumAlgorithm : (src.dest.integrity ?? 'md5'),
    ...(src.origin !== undefined ? { origin: src.origin } : {}),
  };
}
