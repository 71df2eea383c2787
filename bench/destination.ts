// The destination every benchmark uploads to: a loopback endpoint, path-style, no checksum beyond Content-MD5.
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, DEFAULT_SINGLE_PUT_THRESHOLD } from '../shared/limits.js';
import type { DestinationInput } from '../shared/types.js';

/** Without `settings`: the engine's own defaults (shared/limits.ts), as `hoist upload` uses them. */
export function benchDestination(name: string, endpoint: string, bucket: string, settings: { partSize: number; concurrency: number } = { partSize: DEFAULT_PART_SIZE, concurrency: DEFAULT_CONCURRENCY }): DestinationInput {
  return {
    name,
    endpoint,
    region: 'us-east-1',
    bucket,
    prefix: '',
    pathStyle: true,
    profile: null,
    storageClass: null,
    sse: null,
    sseKmsKeyId: null,
    partSize: settings.partSize,
    concurrency: settings.concurrency,
    singlePutThreshold: DEFAULT_SINGLE_PUT_THRESHOLD,
    maxObjectSize: 5 * 2 ** 40,
    maxParts: 10_000,
    checksumAlgorithm: null,
  };
}
