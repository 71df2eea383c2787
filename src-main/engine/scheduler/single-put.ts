// A small file's end (issue 12): when its one PutObject answers, the part, the whole-file hashes read
// with its body and the job's end are one transaction, with no Complete step after it. The worker
// has already proven what complete.ts would check again: the file unchanged from its snapshot before
// and after the send, its path still naming it, the ETag equal to the MD5 of the bytes read (unless
// the answer named an encryption under which it is none). The end is written with the next tick's
// other writes (tick-writes.ts: one commit for the ends, sends and claims of a tick).
import type { FileHashes } from '../../../shared/states.js';
import { toHoistError } from '../s3/errors.js';
import type { JobRecord } from '../store/rows.js';
import type { DonePart, UploadStore } from '../store/upload-store.js';
import type { TaskSuccess } from '../upload/tasks.js';
import type { ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { singlePutFullObject } from './full-object.js';
import { jobProof } from './server-proof.js';

/** A small file's end, decided from its PutObject's answer and not yet written. */
interface SinglePutEnd {
  a: ActiveJob;
  done: DonePart;
  hashes: FileHashes | null;
  hashed: string | null;
  end: Parameters<UploadStore['finishSinglePut']>[3];
  /** The job's row as its end wrote it (once written): what hosts hear of. */
  written?: JobRecord;
}

/**
 * How the PutObject's answer ends the job, when it can end here: its hashes were to come with the
 * body (`a.inlineHashes`) and did. Null otherwise (the usual record and Complete follow). Writes nothing.
 */
function singlePutEnd(ctx: RunContext, a: ActiveJob, done: DonePart, r: TaskSuccess): SinglePutEnd | null {
  const wanted = a.inlineHashes;
  if (a.job.mode !== 'single' || a.stopping || wanted === undefined) return null;
  if (wanted.length > 0 && !wanted.every((alg) => r.fileHashes?.[alg] !== undefined)) return null;
  const hashes: FileHashes | null = wanted.length > 0 ? { ...a.job.hashes, ...r.fileHashes } : null;
  const etag = done.etag;
  const matched = etag !== '' && etag === done.md5Hex;
  const versionId = r.versionId ?? null;
  // The object is this one request's bytes: whether it echoed the checksum is known here (send.ts notes it).
  const proof = jobProof(ctx, a, matched ? 'matched' : 'not-comparable', a.job.serverEncryption, singlePutFullObject(a, done.checksum), true);
  const version = versionId ? `, version ${versionId}` : '';
  const message = matched ? `Uploaded and verified (ETag ${etag}${version}).` : `Uploaded; ${proof.integrity}${version}.`;
  const hashed = hashes ? `Hashed (${wanted.map((alg) => `${alg} ${hashes[alg]}`).join(', ')}) in the same read as the upload's body.` : null;
  return { a, done, hashes, hashed, end: { etag, versionId, message, proof } };
}

/**
 * Ends the job from its PutObject's answer, with the next tick's writes (one commit), when it can
 * end here; false, nothing queued, otherwise (the usual record and Complete follow). Until that
 * commit the job is `completing`: nothing more of it is sent.
 */
export function finishSinglePut(ctx: RunContext, a: ActiveJob, done: DonePart, r: TaskSuccess): boolean {
  const e = singlePutEnd(ctx, a, done, r);
  if (!e) return false;
  a.phase = 'completing';
  ctx.writeSoon({ write: () => writeEnd(ctx.store, e), then: () => ended(ctx, e), alone: () => endAlone(ctx, e) });
  return true;
}

/** The end's one transaction (a nested one, inside a tick's). */
function writeEnd(store: Pick<UploadStore, 'finishSinglePut'>, e: SinglePutEnd): void {
  e.written = store.finishSinglePut(e.done, e.hashes, e.hashed, e.end);
}

/** The end is committed: the job leaves the open set and hosts hear of it. */
function ended(ctx: RunContext, e: SinglePutEnd): void {
  if (e.hashes) e.a.job.hashes = e.hashes;
  e.a.versionId = e.end.versionId;
  ctx.release(e.a, e.written);
}

/**
 * Written alone: on a full disk the part's answer is kept in memory (storage-guard.ts) and the usual
 * Complete follows, as before ends were grouped.
 */
function endAlone(ctx: RunContext, e: SinglePutEnd): void {
  try {
    writeEnd(ctx.store, e);
  } catch (err) {
    if (toHoistError(err).code !== 'db.full') throw err;
    ctx.storage.recordPartDone(e.done);
    e.a.versionId = e.end.versionId;
    e.a.phase = 'sending';
    return;
  }
  ended(ctx, e);
}
