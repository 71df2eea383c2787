// The destination every benchmark uploads to: a loopback endpoint, path-style, no checksum beyond Content-MD5.
import type { DestinationInput } from '../shared/types.js';

export function benchDestination(name: string, endpoint: string, bucket: string, settings: { partSize: number; concurrency: number }): DestinationInput {
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
    singlePutThreshold: 100 * 1024 * 1024,
    maxObjectSize: 5 * 2 ** 40,
    maxParts: 10_000,
    checksumAlgorithm: null,
  };
}
