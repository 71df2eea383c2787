// Flag and argument values of the `hoist` subcommands: each parser turns a bad value into
// commander's usage error (exit 2), so no command checks its flags by hand.
import path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { MAX_CONCURRENCY } from '../../shared/limits.js';
import { IF_EXISTS_POLICIES, INTEGRITY_MODES, type AfterDelivery, type FileHashAlgorithm } from '../../shared/states.js';
import type { ObjectRef } from '../engine/remote/copy.js';
import { parseHashList } from '../engine/upload/file-hashes.js';
import { parseSize } from '../engine/upload/part-plan.js';

/** `64MiB`, `5GiB`, … */
export function sizeArg(v: string): number {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `--hash xxh64,md5` or `--hash none`. */
export function hashListArg(v: string): FileHashAlgorithm[] {
  try {
    return parseHashList(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

export const jobIdArg = intArg(1, Number.MAX_SAFE_INTEGER);

/** Parts (or ranges) in flight at once. */
export const concurrencyArg = intArg(1, MAX_CONCURRENCY);

export function folderIdArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a folder id (see `hoist folders list`)');
  return n;
}

export function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('expected a port from 0 to 65535 (0: any free port)');
  return n;
}

const MAX_NAME = 200;

/** A destination's name. */
export function nameArg(v: string): string {
  const name = v.trim();
  if (name.length === 0 || name.length > MAX_NAME) throw new InvalidArgumentError(`a destination name is 1 to ${MAX_NAME} characters`);
  return name;
}

/** For a repeatable flag (`--to A --to B`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "7d", "12h", "30m", "45s" or plain seconds, in milliseconds. */
export function parseAge(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected an age such as 7d, 12h, 30m or 45s');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[(m[2] ?? 's').toLowerCase() as 'd' | 'h' | 'm' | 's'];
  return Math.round(Number(m[1]) * unit);
}

/** 86400000 → "24h", 604800000 → "7d", 90000 → "90s": an age as --older-than takes it. */
export function formatAge(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms >= 2 * size && ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

/** "3s", "500ms", "1.5s", "2m" or plain seconds, in milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 3s, 500ms or 2m');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** --after keep | delete | move:DIR (DIR relative to the current folder) */
export function parseAfter(v: string): { after: AfterDelivery; moveTo: string | null } {
  if (v === 'keep' || v === 'delete') return { after: v, moveTo: null };
  const m = /^move:(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected keep, delete or move:DIR');
  return { after: 'move', moveTo: path.resolve(m[1]!) };
}

/** s3://BUCKET/KEY */
export function parseS3Url(v: string): ObjectRef {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`"${v}" is not of the form s3://BUCKET/KEY`);
  return { bucket: m[1]!, key: m[2]! };
}

/** `--if-exists POLICY`: what a job does when its key already holds an object (docs/cli.md). */
export function ifExistsOption(whose: string): Option {
  return new Option(
    '--if-exists <policy>',
    `when the key already holds an object (${whose}): skip-identical sends nothing if it has the same bytes and replaces it otherwise, keep-both sends to "NAME (1).EXT", never-overwrite fails (s3.object-exists), overwrite sends without looking`,
  ).choices([...IF_EXISTS_POLICIES]);
}

/** `--integrity MODE`: how a destination's uploads prove their bytes (docs/integrity.md). */
export function integrityOption(): Option {
  return new Option(
    '--integrity <mode>',
    "how the destination's uploads prove their bytes: auto (default) sends CRC32C and a full-object checksum where the server verifies checksums, Content-MD5 where it does not; md5 always Content-MD5; or a checksum (crc32c, crc32, crc64nvme, sha1, sha256), with Content-MD5 beside it on a server that does not verify it",
  ).choices([...INTEGRITY_MODES]);
}
