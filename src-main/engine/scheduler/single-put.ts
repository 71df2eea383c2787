// A small file's end (issue 12): when its one PutObject answers, the part, the whole-file hashes read
// with its body and the job's end are one transaction, with no Complete step after it. The worker
// has already proven what complete.ts would check again: the file unchanged from its snapshot before
// and after the send, its path still naming it, the ETag equal to the MD5 of the bytes read (unless
// the answer named an encryption under which it is none).
import type { FileHashes } from '../../../shared/states.js';
import { toHoistError } from '../s3/errors.js';
import type { DonePart } from '../store/upload-store.js';
import type { TaskSuccess } from '../upload/tasks.js';
import type { ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { singlePutFullObject } from './full-object.js';
import { jobProof } from './server-proof.js';

/**
 * Records the PutObject's answer and ends the job, when it can end here: its hashes were to come with
 * the body (`a.inlineHashes`) and did. False, nothing written, otherwise (the usual record and Complete follow).
 */
export function finishSinglePut(ctx: RunContext, a: ActiveJob, done: DonePart, r: TaskSuccess): boolean {
  const wanted = a.inlineHashes;
  if (a.job.mode !== 'single' || a.stopping || wanted === undefined) return false;
  if (wanted.length > 0 && !wanted.every((alg) => r.fileHashes?.[alg] !== undefined)) return false;
  const hashes: FileHashes | null = wanted.length > 0 ? { ...a.job.hashes, ...r.fileHashes } : null;
  const etag = done.etag;
  const matched = etag !== '' && etag === done.md5Hex;
  const versionId = r.versionId ?? null;
  const proof = jobProof(ctx, a, matched ? 'matched' : 'not-comparable', a.job.serverEncryption, singlePutFullObject(a, done.checksum));
  const version = versionId ? `, version ${versionId}` : '';
  const message = matched ? `Uploaded and verified (ETag ${etag}${version}).` : `Uploaded; ${proof.integrity}${version}.`;
  const hashed = hashes ? `Hashed (${wanted.map((alg) => `${alg} ${hashes[alg]}`).join(', ')}) in the same read as the upload's body.` : null;
  try {
    ctx.store.finishSinglePut(done, hashes, hashed, { etag, versionId, message, proof });
  } catch (err) {
    // A full disk: the usual path keeps the part's answer in memory until the database takes writes.
    if (toHoistError(err).code === 'db.full') return false;
    throw err;
  }
  if (hashes) a.job.hashes = hashes;
  a.versionId = versionId;
  a.phase = 'completing';
  ctx.release(a);
  return true;
}
