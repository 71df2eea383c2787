// The destination every benchmark uploads to: a loopback endpoint, path-style, no checksum beyond Content-MD5.
import { destinationWithDefaults } from '../shared/destination-defaults.js';
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE } from '../shared/limits.js';
import type { DestinationInput } from '../shared/types.js';

/** Without `settings`: the engine's own defaults (shared/limits.ts), as `hoist upload` uses them. */
export function benchDestination(name: string, endpoint: string, bucket: string, settings: { partSize: number; concurrency: number } = { partSize: DEFAULT_PART_SIZE, concurrency: DEFAULT_CONCURRENCY }): DestinationInput {
  return destinationWithDefaults({ name, endpoint, region: 'us-east-1', bucket, pathStyle: true }, { partSize: settings.partSize, concurrency: settings.concurrency });
}
