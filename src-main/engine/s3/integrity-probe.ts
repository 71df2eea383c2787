// Does the server verify flexible checksums? Asked once per destination and endpoint (the answer is
// remembered: store/destination-rows.ts), with a throwaway multipart upload under
// `.hoist-integrity-probe/`: one tiny part sent with a deliberately wrong x-amz-checksum-crc32 must be
// refused with BadDigest, and the same part with the right one accepted; the upload is then aborted,
// so nothing is left and no DeleteObject permission is needed. A server that accepts the wrong
// checksum verifies none (radosgw 16 does so), and its uploads need Content-MD5.
import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';
import { requireCjs } from '../cjs.js';
import { toHoistError } from './errors.js';
import * as ops from './operations.js';

// Through require, not import (cjs.ts).
const { UploadPartCommand } = requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

export const INTEGRITY_PROBE_FOLDER = '.hoist-integrity-probe/';

const BODY = Buffer.from('Hoist asks whether this server verifies flexible checksums.\n');

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
}

export interface ProbeAnswer {
  verifies: boolean;
  /** What the server did, for the connection test and the job's history. */
  detail: string;
}

type ProbeDestination = Pick<Destination, 'bucket' | 'prefix' | 'storageClass' | 'sse' | 'sseKmsKeyId'>;

/**
 * Sends the probe. Throws (a HoistError) when the answer proves nothing either way: access denied,
 * a missing bucket, no network. The caller then uses MD5 and asks again next time.
 */
/** The probe's upload, when its abort failed (denied, the network gone): the caller owes that abort (invariant 4). */
export interface ProbeLeftover {
  key: string;
  uploadId: string;
  error: string;
}

export async function probeChecksumVerification(client: S3Client, dest: ProbeDestination, onLeftover?: (left: ProbeLeftover) => void): Promise<ProbeAnswer> {
  const key = `${dest.prefix ? dest.prefix.replace(/\/+$/, '') + '/' : ''}${INTEGRITY_PROBE_FOLDER}${randomUUID()}`;
  let uploadId: string;
  try {
    uploadId = await ops.createMultipartUpload(client, dest.bucket, key, { contentType: 'application/octet-stream', metadata: {}, storageClass: dest.storageClass, sse: dest.sse, sseKmsKeyId: dest.sseKmsKeyId }, 'crc32');
  } catch (err) {
    const e = toHoistError(err, 'CreateMultipartUpload');
    // A server that refuses an upload with a checksum algorithm takes no checksums at all.
    if (e.code === 's3.invalid-request' || e.code === 's3.not-implemented') return { verifies: false, detail: `it refused an upload with a checksum algorithm (${e.info.detail ?? e.code})` };
    throw e;
  }
  const send = (checksum: string) =>
    client.send(new UploadPartCommand({ Bucket: dest.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: BODY, ContentLength: BODY.length, ChecksumCRC32: checksum }));
  try {
    const wrong = crc32Base64(Buffer.concat([BODY, Buffer.from('x')]));
    try {
      await send(wrong);
      return { verifies: false, detail: 'it accepted a part whose CRC32 was wrong' };
    } catch (err) {
      const e = toHoistError(err, 'UploadPart');
      if (e.code !== 's3.bad-digest') throw e;
    }
    try {
      await send(crc32Base64(BODY));
    } catch (err) {
      const e = toHoistError(err, 'UploadPart');
      if (e.code === 's3.bad-digest' || e.code === 's3.invalid-request') return { verifies: false, detail: `it refused a part whose CRC32 was right (${e.code})` };
      throw e;
    }
    return { verifies: true, detail: 'it refused a part whose CRC32 was wrong (BadDigest) and accepted it with the right one' };
  } finally {
    // Nothing was completed: the abort leaves nothing behind. One that fails is handed to the caller,
    // which owes it like any other abort (every upload Hoist creates is completed or aborted).
    await ops.abortMultipartUpload(client, dest.bucket, key, uploadId).catch((err: unknown) => {
      const e = toHoistError(err, 'AbortMultipartUpload');
      onLeftover?.({ key, uploadId, error: `${e.code}: ${e.message}` });
    });
  }
}

/** Probes in flight, so that jobs opening at once on one destination ask the server once. */
const inFlight = new Map<string, Promise<ProbeAnswer>>();

/** The probe for this destination at this endpoint, shared by callers that ask while it runs. */
export function probeOnce(id: string, client: S3Client, dest: ProbeDestination, onLeftover?: (left: ProbeLeftover) => void): Promise<ProbeAnswer> {
  let p = inFlight.get(id);
  if (!p) {
    p = probeChecksumVerification(client, dest, onLeftover).finally(() => inFlight.delete(id));
    inFlight.set(id, p);
  }
  return p;
}
