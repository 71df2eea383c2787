// Never free a source on stale evidence (issue 13, item 3). A job's record says its object was
// verified when it was completed; another client may have deleted or overwritten the key since. So
// just before a source is deleted or moved, each destination's object is looked at once more
// (HeadObject) and must still be the one verified: the same size and ETag (the ETag the server gave
// at Complete: an MD5 or md5-of-md5s, or under SSE-KMS an opaque value that still changes with each
// write) and, in a versioned bucket, the version Complete made, which must also still be the
// current one. A newer version on top, even of equal bytes, keeps the source: the key no longer
// serves what was verified, and a lifecycle rule for noncurrent versions may take ours.
import type { S3Client } from '@aws-sdk/client-s3';
import type { ErrorCode } from '../../../shared/errors.js';
import type { Destination } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';
import { normalizeEtag } from '../upload/checksums.js';

/** One destination's object as it was verified (at Complete, or when an object already there was adopted). */
export interface DeliveredObject {
  destinationId: number;
  /** The destination's name. */
  destination: string;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** The version it was written as, in a versioned bucket; null when unknown (unversioned, or adopted). */
  versionId: string | null;
  /** The job that delivered it; null for an object found already there (adopted). */
  jobId: number | null;
}

export interface ObjectState {
  size: number;
  etag: string;
  versionId: string | null;
}

export type StaleCode = Extract<ErrorCode, 'cleanup.object-missing' | 'cleanup.object-changed'>;

/** An object that is no longer what was verified: what is there now (null: nothing at the key), and why in words. */
export interface StaleObject {
  object: DeliveredObject;
  code: StaleCode;
  found: ObjectState | null;
  why: string;
}

export type Evidence =
  /** Every object is still the one verified: the source may go. */
  | { kind: 'holds' }
  /** At least one was deleted or overwritten since: the source stays. */
  | { kind: 'stale'; stale: StaleObject[] }
  /** HeadObject is not permitted (a PutObject-only user): nothing can be checked, so the source stays. */
  | { kind: 'unknowable'; why: string };

/**
 * Looks at every object once more. A refused HeadObject makes the evidence unknowable; any other
 * failure (the network, a 5xx) is thrown, for the clean-up to try again later.
 */
export async function checkDelivered(objects: readonly DeliveredObject[], clientFor: (destinationId: number) => Promise<S3Client>): Promise<Evidence> {
  const stale: StaleObject[] = [];
  for (const o of objects) {
    let finding: StaleObject | null;
    try {
      finding = await checkObject(await clientFor(o.destinationId), o);
    } catch (err) {
      const e = toHoistError(err, 'HeadObject');
      if (e.code !== 's3.access-denied') throw e;
      return { kind: 'unknowable', why: `HeadObject on s3://${o.bucket}/${o.key} is not permitted (${e.message}), so it cannot be shown that the object is still the one verified` };
    }
    if (finding) stale.push(finding);
  }
  return stale.length > 0 ? { kind: 'stale', stale } : { kind: 'holds' };
}

/** Null when the object is still the one verified; otherwise what changed. */
export async function checkObject(client: S3Client, o: DeliveredObject): Promise<StaleObject | null> {
  const where = `s3://${o.bucket}/${o.key}`;
  const current = await ops.headObject(client, o.bucket, o.key);
  const now = current && stateOf(current);
  if (!o.versionId) {
    if (!now) return { object: o, code: 'cleanup.object-missing', found: null, why: `${where} is gone: it was deleted since it was verified` };
    if (!sameBytes(now, o)) return { object: o, code: 'cleanup.object-changed', found: now, why: `${where} was overwritten since it was verified: it is ${describe(now)} now, not ${describe(o)}` };
    return null;
  }
  if (now && now.versionId === o.versionId && sameBytes(now, o)) return null;
  // Not the current version (or not as it was): is ours still there at all?
  const oursHead = now?.versionId === o.versionId ? current : await ops.headObject(client, o.bucket, o.key, o.versionId);
  const ours = oursHead && stateOf(oursHead);
  if (!ours || !sameBytes(ours, o)) {
    const lost = `version ${o.versionId} of ${where}, the one verified, ${ours ? `is ${describe(ours)} now, not ${describe(o)}` : 'is gone'}`;
    return now
      ? { object: o, code: 'cleanup.object-changed', found: now, why: `${lost}; the key holds ${describe(now)}` }
      : { object: o, code: 'cleanup.object-missing', found: null, why: `${lost}, and the key has no current version` };
  }
  const kept = `ours, version ${o.versionId}, is still in the bucket as a noncurrent version`;
  if (!now) return { object: o, code: 'cleanup.object-missing', found: null, why: `${where} was deleted since it was verified (a delete marker is on top); ${kept}` };
  return { object: o, code: 'cleanup.object-changed', found: now, why: `a newer version of ${where} was written on top since it was verified, ${describe(now)}; ${kept}` };
}

function stateOf(h: ops.HeadedObject): ObjectState {
  return { size: h.size, etag: normalizeEtag(h.etag), versionId: h.versionId };
}

function sameBytes(a: Pick<ObjectState, 'size' | 'etag'>, b: Pick<ObjectState, 'size' | 'etag'>): boolean {
  return a.size === b.size && normalizeEtag(a.etag) === normalizeEtag(b.etag);
}

function describe(s: ObjectState): string {
  return `${s.size} bytes with ETag ${normalizeEtag(s.etag) || '(none)'}${s.versionId ? ` (version ${s.versionId})` : ''}`;
}

/** A destination's client by id, for checkDelivered. */
export function clientsOf(getDestination: (id: number) => Destination | undefined, clientFor: (dest: Destination) => Promise<S3Client>): (destinationId: number) => Promise<S3Client> {
  return async (id) => {
    const dest = getDestination(id);
    if (!dest) throw toHoistError(new Error(`destination ${id} is gone`), 'HeadObject');
    return clientFor(dest);
  };
}
