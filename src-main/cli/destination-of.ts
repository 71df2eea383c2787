// Which destination a command means: the one --bucket names on the resolved endpoint (made or
// updated from the flags, as `hoist upload --bucket` always did), a named one (--to NAME), or one
// given by id, name or bucket (`hoist limit`, `hoist tune`).
import { HoistError } from '../../shared/errors.js';
import { AMAZON_S3_MAX_OBJECT_SIZE, COMPATIBLE_MAX_OBJECT_SIZE, DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, DEFAULT_SINGLE_PUT_THRESHOLD, MAX_PARTS } from '../../shared/limits.js';
import type { IfExistsPolicy, IntegrityMode } from '../../shared/states.js';
import type { Destination, DestinationInput } from '../../shared/types.js';
import type { Engine } from '../engine/engine.js';
import { profileExists, resolveAwsSettings, type AwsSettings } from '../engine/s3/connection.js';
import type { GlobalOpts } from './with-hoist.js';

/** The flags that make or update a destination (the rest of `hoist upload`'s are per upload). */
export interface DestinationFlags {
  bucket: string;
  prefix?: string;
  concurrency?: number;
  storageClass?: string;
  sse?: string;
  sseKmsKeyId?: string;
  /** The destination's integrity mode; left out, it keeps its own (auto for a new one). */
  integrity?: IntegrityMode;
}

/** A destination's settings from the resolved AWS settings and the flags, keeping what the existing one of that name has. */
function destinationInput(name: string, aws: AwsSettings, f: DestinationFlags, existing?: Destination, prefix?: string): DestinationInput {
  const isAmazon = !aws.endpoint || /\.amazonaws\.com(\.cn)?$/i.test(new URL(aws.endpoint).hostname);
  return {
    name,
    endpoint: aws.endpoint,
    region: aws.region,
    bucket: f.bucket,
    prefix: prefix ?? existing?.prefix ?? '',
    pathStyle: aws.pathStyle,
    profile: aws.profile,
    storageClass: f.storageClass ?? existing?.storageClass ?? null,
    sse: f.sse ?? existing?.sse ?? null,
    sseKmsKeyId: f.sseKmsKeyId ?? existing?.sseKmsKeyId ?? null,
    partSize: existing?.partSize ?? DEFAULT_PART_SIZE,
    concurrency: f.concurrency ?? existing?.concurrency ?? DEFAULT_CONCURRENCY,
    singlePutThreshold: existing?.singlePutThreshold ?? DEFAULT_SINGLE_PUT_THRESHOLD,
    maxObjectSize: existing?.maxObjectSize ?? (isAmazon ? AMAZON_S3_MAX_OBJECT_SIZE : COMPATIBLE_MAX_OBJECT_SIZE),
    maxParts: existing?.maxParts ?? MAX_PARTS,
    checksumAlgorithm: existing?.checksumAlgorithm ?? null,
    ...(f.integrity ? { integrity: f.integrity } : {}),
  };
}

function resolveGlobal(g: GlobalOpts): Promise<AwsSettings> {
  return resolveAwsSettings({ profile: g.profile ?? null, region: g.region ?? null, endpoint: g.endpoint ?? null, ...(g.pathStyle ? { pathStyle: true } : {}) });
}

/** The destination for --bucket on the resolved endpoint (named BUCKET or BUCKET@HOST); the flags in DestinationFlags update it. */
export async function destinationFor(engine: Engine, g: GlobalOpts, f: DestinationFlags): Promise<Destination> {
  const aws = await resolveGlobal(g);
  const name = aws.endpoint ? `${f.bucket}@${new URL(aws.endpoint).host}` : f.bucket;
  return engine.upsertDestination(destinationInput(name, aws, f, engine.store.getDestinationByName(name)));
}

/** `hoist destinations add NAME`: a new named destination from the flags and the global --endpoint, --region, --profile, --path-style. */
export async function addNamedDestination(engine: Engine, g: GlobalOpts, name: string, f: DestinationFlags & { ifExists?: IfExistsPolicy }): Promise<Destination> {
  if (engine.store.getDestinationByName(name)) throw new HoistError('config.invalid', { message: `A destination named "${name}" already exists (see \`hoist destinations list\`); remove it first or choose another name.` });
  const aws = await resolveGlobal(g);
  if (g.profile && !(await profileExists(g.profile))) {
    throw new HoistError('config.invalid', { message: `There is no AWS profile "${g.profile}" in ~/.aws/config or ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE). Add it first, for example with \`aws configure --profile ${g.profile}\`.` });
  }
  // --if-exists belongs to a named destination; an upload's own (`hoist upload --if-exists`) is the upload's alone.
  return engine.saveDestination({ ...destinationInput(name, aws, f, undefined, (f.prefix ?? '').replace(/^\/+/, '')), ...(f.ifExists ? { ifExists: f.ifExists } : {}) });
}

/** The destination of that name, or a clear refusal. */
export function namedDestination(engine: Engine, name: string): Destination {
  const dest = engine.store.getDestinationByName(name);
  if (!dest) throw new HoistError('config.invalid', { message: `There is no destination named "${name}" (see \`hoist destinations list\`; add one with \`hoist destinations add ${name} --bucket B\`).` });
  return dest;
}

/** A destination by id, by name, or by bucket when only one destination has that bucket. */
export function findDestination(engine: Engine, which: string): Destination {
  const all = engine.store.listDestinations();
  const found =
    all.find((d) => String(d.id) === which) ??
    all.find((d) => d.name === which) ??
    (all.filter((d) => d.bucket === which).length === 1 ? all.find((d) => d.bucket === which) : undefined);
  if (found) return found;
  const known = all.map((d) => `${d.id} (${d.name})`).join(', ') || 'none yet: an upload to a bucket makes one';
  throw new HoistError('config.invalid', { message: `There is no destination "${which}" (by id, name or bucket). Destinations: ${known}.` });
}
