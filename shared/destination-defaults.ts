// A new destination as Hoist's defaults make it: the caller says where it is (name, endpoint,
// region, bucket, addressing, profile) and anything it wants otherwise; the rest (part size, parts
// in flight, single-PUT threshold, the server's object-size ceiling, no SSE, no storage class, no
// flexible checksum) comes from here, so the first-run screen, the local test server, the bench
// and the tests cannot drift apart.
import { AMAZON_S3_MAX_OBJECT_SIZE, COMPATIBLE_MAX_OBJECT_SIZE, DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, DEFAULT_SINGLE_PUT_THRESHOLD, MAX_PARTS } from './limits.js';
import type { DestinationInput } from './types.js';

/** Where a destination is: the fields no default can supply. */
export interface DestinationPlace {
  name: string;
  /** null: Amazon S3 itself (its larger object-size ceiling applies). */
  endpoint: string | null;
  region: string;
  bucket: string;
  pathStyle: boolean;
  profile?: string | null;
}

export function destinationWithDefaults(place: DestinationPlace, overrides: Partial<DestinationInput> = {}): DestinationInput {
  return {
    ...place,
    prefix: '',
    profile: place.profile ?? null,
    storageClass: null,
    sse: null,
    sseKmsKeyId: null,
    partSize: DEFAULT_PART_SIZE,
    concurrency: DEFAULT_CONCURRENCY,
    singlePutThreshold: DEFAULT_SINGLE_PUT_THRESHOLD,
    maxObjectSize: place.endpoint === null ? AMAZON_S3_MAX_OBJECT_SIZE : COMPATIBLE_MAX_OBJECT_SIZE,
    maxParts: MAX_PARTS,
    checksumAlgorithm: null,
    ...overrides,
  };
}
