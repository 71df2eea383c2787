// Where a destination's integrity probe answer belongs (issue 12): the answer is remembered with the
// endpoint it was found at and counts only while the destination still has that endpoint.
import type { ChecksumAlgorithm } from './states.js';

/** `auto`'s checksum on a server shown to verify it (scheduler/integrity-plan.ts says why). */
export const AUTO_CHECKSUM: ChecksumAlgorithm = 'crc32c';

/** The destination's endpoint, or Amazon S3's regional one when it names none. */
export function probeEndpoint(d: { endpoint: string | null; region: string }): string {
  return d.endpoint ?? `https://s3.${d.region}.amazonaws.com`;
}
