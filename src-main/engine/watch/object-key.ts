// Where a watched file goes in the bucket: the destination's and the folder's prefixes, then the
// path relative to the folder with `/` separators, in Unicode NFC (macOS writes NFD names).
import path from 'node:path';
import type { Destination, WatchedFolder } from '../../../shared/types.js';
import { joinKey, objectKey } from '../engine.js';

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
