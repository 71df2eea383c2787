// After a crash (or a full disk): our record is brought in line with the server before any part
// goes. A part the server holds that we did not record is adopted only if its ETag equals the MD5
// of the same local bytes (invariant 2); an upload that is gone may have been completed already.
import type { S3Client } from '@aws-sdk/client-s3';
import { fromErrorInfo, toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import type { RemotePart } from '../../../shared/types.js';
import { strongestEncryption } from '../s3/server-encryption.js';
import type { PartRecord } from '../store/rows.js';
import { multipartEtag, normalizeEtag } from '../upload/checksums.js';
import { snapshotOf, type ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { fullObjectValue } from './full-object.js';
import { jobProof } from './server-proof.js';

/** Returns false when the upload is gone. */
export async function reconcile(ctx: RunContext, a: ActiveJob, client: S3Client, uploadId: string): Promise<boolean> {
  const recorded = new Map(ctx.store.parts(a.job.id).map((p) => [p.partNumber, p]));
  const candidates: Array<{ part: PartRecord; etag: string; listed: RemotePart }> = [];
  const withChecksum: RemotePart[] = [];
  try {
    for await (const remote of ops.listParts(client, a.job.bucket, a.job.key, uploadId, ctx.opts.listPageSize)) {
      if (remote.checksum) withChecksum.push(remote);
      const local = recorded.get(remote.partNumber);
      if (!local || local.state === 'done' || remote.size !== local.length) continue;
      candidates.push({ part: local, etag: normalizeEtag(remote.etag), listed: remote });
    }
  } catch (err) {
    const e = toHoistError(err);
    if (e.code === 's3.no-such-upload') return false;
    if (e.code === 's3.access-denied') {
      ctx.store.addEvent(a.job.id, 'reconcile-skipped', 'ListParts is not permitted, so parts sent but not recorded before the interruption are sent again.', e.info);
      return true;
    }
    throw e;
  }
  takeListedChecksums(ctx, a, withChecksum, [...recorded.values()]);
  let adopted = 0;
  for (const { part, etag, listed } of candidates) {
    if (a.stopping) break;
    const { outcome } = ctx.pool.run({
      kind: 'hash-range',
      path: a.source.path,
      offset: part.offset,
      length: part.length,
      snapshot: snapshotOf(a.job),
      checksumAlgorithm: a.job.checksumAlgorithm,
    });
    const o = await outcome;
    if (!o.ok) throw fromErrorInfo(o.error);
    // The checksum the server lists for the part is the one Complete must name; it has to be this range's too.
    const serverChecksum = listed.checksumAlgorithm !== null && listed.checksumAlgorithm === a.job.checksumAlgorithm ? listed.checksum : null;
    if (o.result.md5Hex === etag && (serverChecksum === null || serverChecksum === o.result.checksum)) {
      ctx.store.markPartDone(a.job.id, part.partNumber, etag, o.result.md5Hex, serverChecksum ?? o.result.checksum);
      a.bytesAcked += part.length;
      a.partsDone++;
      adopted++;
    }
  }
  if (candidates.length > 0) {
    ctx.store.addEvent(a.job.id, 'reconciled', `Found ${candidates.length} unrecorded part(s) on the server; adopted ${adopted} whose bytes match the file, the rest are sent again.`);
  }
  return true;
}

/**
 * The server lists additional checksums for the upload's parts (Amazon S3 does for an upload created
 * with a checksum algorithm; radosgw 16 never does). That algorithm is the upload's, whatever our
 * record says (a job taken up after a rebuild has its destination's): the job sends and completes
 * with it, and a done part recorded without a checksum keeps the one the server lists, so Complete
 * can name every part with it. A record that already holds another algorithm's checksums is kept.
 */
function takeListedChecksums(ctx: RunContext, a: ActiveJob, listed: RemotePart[], recorded: PartRecord[]): void {
  const algorithm = listed[0]?.checksumAlgorithm;
  if (!algorithm) return;
  const switching = a.job.checksumAlgorithm !== algorithm;
  if (switching && recorded.some((p) => p.state === 'done' && p.checksum !== null)) {
    ctx.store.addEvent(a.job.id, 'checksum-kept', `The server lists ${algorithm} checksums for this upload's parts, but our record holds ${a.job.checksumAlgorithm ?? 'other'} ones; our record is kept.`);
    return;
  }
  const byNumber = new Map(recorded.map((p) => [p.partNumber, p]));
  const taken = listed.flatMap((r) => {
    const local = byNumber.get(r.partNumber);
    const same = local?.state === 'done' && local.checksum === null && local.etag === normalizeEtag(r.etag) && r.checksumAlgorithm === algorithm;
    return same ? [{ partNumber: r.partNumber, checksum: r.checksum! }] : [];
  });
  if (!switching && taken.length === 0) return;
  const message = switching
    ? `The upload on the server was made with ${algorithm} checksums (ListParts lists them), not ${a.job.checksumAlgorithm ?? 'none'}: the job sends and completes with ${algorithm}${taken.length ? `, and ${taken.length} recorded part(s) take the checksum the server lists` : ''}.`
    : `${taken.length} recorded part(s) take the ${algorithm} checksum the server lists for them.`;
  ctx.store.takeUploadChecksums(a.job.id, algorithm, taken, message);
  a.job.checksumAlgorithm = algorithm;
}

/**
 * An upload that is gone while every part is recorded may have been completed just before an
 * interruption (the process died during Complete, or after it): the job is done if the object
 * proves to be ours by what our record holds, without a byte sent again. Where the parts carried
 * MD5s, its ETag must be our multipart ETag; where the upload was FULL_OBJECT, the checksum the
 * object keeps (HeadObject, ChecksumMode ENABLED) must be the whole file's, combined from the parts'
 * recorded CRCs (the proof full-object-checksum), and one that differs is not ours: the upload
 * starts afresh, never done on that object. Neither comparable: started afresh as well.
 */
export async function alreadyCompleted(ctx: RunContext, a: ActiveJob, client: S3Client): Promise<boolean> {
  const parts = ctx.store.parts(a.job.id);
  if (parts.length === 0 || parts.some((p) => p.state !== 'done')) return false;
  const expectedEtag = parts.every((p) => p.md5) ? normalizeEtag(multipartEtag(parts.map((p) => p.md5!))) : null;
  const full = parts.every((p) => p.checksum) ? fullObjectValue(a, parts) : null;
  if (expectedEtag === null && full === null) return false;
  const head = await ops.headObjectDetail(client, a.job.bucket, a.job.key);
  if (!head || head.size !== a.job.size) return false;
  const etag = normalizeEtag(head.etag);
  if (expectedEtag !== null && etag !== expectedEtag) return false;
  const algorithm = a.job.checksumAlgorithm!;
  const stored = full !== null ? (head.checksums[algorithm] ?? null) : null;
  if (stored !== null && stored !== full) {
    ctx.store.addEvent(a.job.id, 'checksum-mismatch', `The upload is gone and the object at the key keeps full-object ${algorithm.toUpperCase()} ${stored}, not the file's ${full} (combined from the parts' recorded checksums): it is not this upload's object, so the upload starts afresh.`);
    return false;
  }
  // Only the ETag can speak for a FULL_OBJECT upload whose object names no checksum (radosgw 16).
  if (stored === null && expectedEtag === null) return false;
  const fullObject = stored !== null ? { algorithm, value: stored, by: 'HeadObject' } : null;
  const proof = jobProof(ctx, a, expectedEtag !== null ? 'matched' : 'not-comparable', strongestEncryption(head.encryption, a.job.serverEncryption), fullObject);
  const by = [expectedEtag !== null ? `its ETag ${expectedEtag}` : null, fullObject ? `its full-object ${algorithm.toUpperCase()} ${stored}` : null].filter(Boolean).join(' and ');
  ctx.store.completeJob(a.job.id, ['running', 'completing'], etag || null, `The upload had already been completed (before an interruption, or its answer was lost); the object's ${by} match${expectedEtag !== null && fullObject ? '' : 'es'} our record.`, proof, head.versionId);
  ctx.release(a);
  return true;
}

/**
 * A crash between CreateMultipartUpload and recording its id leaves an upload only we know of: abort
 * it. Only one of the same key begun since just before the create, that no live job owns, and that
 * is not shown to be another principal's: by the Owner/Initiator the listing and ListParts give,
 * compared with the caller's id (ops.callerId), or by ListParts being refused (ops.uploadOwnership).
 */
export async function cleanUpInterruptedCreate(ctx: RunContext, a: ActiveJob, client: S3Client, since: number): Promise<void> {
  const live = ctx.store.liveUploadIds();
  try {
    let caller: string | null | undefined;
    for await (const u of ops.listMultipartUploads(client, a.job.bucket, a.job.key)) {
      if (u.key !== a.job.key || live.has(u.uploadId)) continue;
      if (u.initiated && u.initiated.getTime() < since - 60_000) continue;
      // Another client (another principal) may be writing the same key: its upload is not ours to abort.
      caller ??= await ops.callerId(client);
      if (ops.begunByAnother(u, caller)) continue;
      const ownership = await ops.uploadOwnership(client, a.job.bucket, u.key, u.uploadId);
      if (ownership === 'gone') continue;
      if (ownership === 'unreadable' || ops.begunByAnother(ownership, caller)) {
        ctx.store.addEvent(a.job.id, 'cleanup-skipped', `An upload of this key begun since the interrupted create (${u.uploadId}) was left: it is not shown to be ours (${ownership === 'unreadable' ? 'we may not read its parts' : 'another principal began it'}), so another client may be sending it. If it is ours, a lifecycle rule or \`hoist uploads abort-orphans\` removes it.`);
        continue;
      }
      ctx.store.queueRemoteAbort({ destinationId: a.dest.id, bucket: a.job.bucket, key: a.job.key, uploadId: u.uploadId, jobId: a.job.id, reason: 'created before an interruption, never recorded' });
    }
  } catch (err) {
    ctx.store.addEvent(a.job.id, 'cleanup-skipped', 'Could not list uploads to clean up after an interrupted create; an unrecorded upload may remain until a lifecycle rule removes it.', toHoistError(err).info);
  }
  ctx.store.markCreateStarted(a.job.id, null);
}
