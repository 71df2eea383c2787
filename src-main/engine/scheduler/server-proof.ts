// What the server said about a job's bytes: the encryption its answers named (recorded on the job
// as soon as they name one) and, at the end, which proof the job got (s3/server-encryption.ts).
import { toHoistError } from '../s3/errors.js';
import { encryptionNote, integrityProof, type IntegrityProof, type ServerEncryption } from '../s3/server-encryption.js';
import type { ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';

/** A part's answer named an encryption: recorded on the job when it is new. Nothing is lost if the disk is full: the next part names it again. */
export function noteServerEncryption(ctx: RunContext, a: ActiveJob, encryption: ServerEncryption | undefined): void {
  if (!encryption || encryption === a.job.serverEncryption) return;
  try {
    ctx.store.recordServerEncryption(a.job.id, encryption, encryptionNote(encryption));
    a.job.serverEncryption = encryption;
  } catch (err) {
    if (toHoistError(err).code !== 'db.full') throw err;
  }
}

/**
 * The proof a finished job got, with the encryption the server named. `byThisRun`: every byte of the
 * object went in this run's requests (a small file's one PutObject), so whether they echoed the
 * checksum is known here and the history is not read (issue 12: a read per frame).
 */
export function jobProof(ctx: RunContext, a: ActiveJob, etag: 'matched' | 'not-comparable' | 'unavailable', encryption: ServerEncryption, fullObject: { algorithm: string; value: string; by: string } | null = null, byThisRun = false): IntegrityProof & { serverEncryption: ServerEncryption } {
  const algorithm = a.job.checksumAlgorithm;
  // A part the server did not echo the checksum of is in the history (send.ts): then it proved nothing.
  const unverified = byThisRun ? a.checksumUnverifiedNoted === true : ctx.store.hasEvent(a.job.id, 'checksum-unverified');
  const checksum = algorithm ? { algorithm, echoed: !unverified } : null;
  return { ...integrityProof({ multipart: a.job.mode === 'multipart', encryption, etag, checksum, contentMd5: a.job.contentMd5, fullObject }), serverEncryption: encryption };
}
