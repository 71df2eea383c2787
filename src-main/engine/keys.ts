// Object keys. Imports nothing from the engine, so any module may use it (engine.ts and the watcher
// used to import each other through these helpers: an import cycle).
// Where a watched file goes in the bucket: the destination's and the folder's prefixes, then the
// path relative to the folder with `/` separators, in Unicode NFC (macOS writes NFD names).
import path from 'node:path';
import type { Destination, WatchedFolder } from '../../shared/types.js';
import { HoistError } from '../../shared/errors.js';
import { MAX_KEY_BYTES } from '../../shared/limits.js';

/** The path of `file` relative to `folder`, `/`-separated whatever the OS. */
export function relativePath(folder: string, file: string): string {
  return path.relative(folder, file).split(path.sep).join('/');
}

/** The file at a `/`-separated relative path under `folder`: the inverse of relativePath. */
export function pathUnder(folder: string, relPath: string): string {
  return path.join(folder, ...relPath.split('/'));
}

/** The object key for a relative path; throws `limits.key-too-long` for a key over 1,024 bytes. */
export function keyFor(dest: Pick<Destination, 'prefix'>, folder: Pick<WatchedFolder, 'prefix'>, relPath: string): string {
  return objectKey(joinKey(dest.prefix, folder.prefix, relPath));
}

/** Joins key segments with single slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .filter(Boolean)
    .map((p, i, all) => (i < all.length - 1 ? p.replace(/\/+$/, '') + '/' : p))
    .join('')
    .replace(/^\/+/, '');
}

/** Keys are NFC (macOS writes NFD names) and at most 1,024 bytes of UTF-8. */
export function objectKey(raw: string): string {
  const key = raw.normalize('NFC');
  if (key.length === 0) throw new HoistError('config.invalid', { message: 'The object key is empty.' });
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new HoistError('limits.key-too-long', { message: `The object key is ${bytes} bytes long; S3 allows at most ${MAX_KEY_BYTES}. (${key.slice(0, 60)}…)` });
  }
  return key;
}
