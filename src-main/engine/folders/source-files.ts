// What clean-up after verified delivery does to a source file (issue 8): delete it, or move it
// under another folder keeping its relative path. A move never overwrites anything and never
// loses the file: across file systems it is copy, fsync, verify against the object's ETag, rename
// into place, and only then unlink the source.
import fs from 'node:fs';
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import { fileMatchesEtag } from './local-etag.js';
import { sameSnapshot, snapshotOf, type FileSnapshot } from './stability.js';

/** The bytes every destination verified: the object's ETag and the part size that gives it. */
export interface VerifiedBytes {
  etag: string;
  partSizeHints: readonly number[];
}

/** A partly copied file of ours, named beside its target (removed and redone after a crash). */
export const PARTIAL_SUFFIX = '.hoist-partial';

/** The file as it is now; null when it is gone. */
export async function currentSnapshot(file: string): Promise<FileSnapshot | null> {
  try {
    const st = await fs.promises.stat(file, { bigint: true });
    return st.isFile() ? snapshotOf(st) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Throws unless the file is still exactly the verified version. */
async function requireUnchanged(file: string, verified: FileSnapshot): Promise<void> {
  const now = await currentSnapshot(file);
  if (!now || !sameSnapshot(now, verified)) {
    throw new HoistError('source.changed', { message: `${file} changed after every destination verified it; it is left where it is (the new version is uploaded like any other).` });
  }
}

export async function deleteSource(file: string, verified: FileSnapshot): Promise<void> {
  await requireUnchanged(file, verified);
  await fs.promises.unlink(file);
}

/**
 * Moves `file` to `target` (same relative path under the move folder). An existing target is
 * never overwritten: one that already holds the verified bytes (a move cut short after its copy)
 * only lets the source go; any other is an error for a person to resolve.
 */
export async function moveSource(file: string, target: string, verified: FileSnapshot, bytes: VerifiedBytes): Promise<'renamed' | 'copied'> {
  await requireUnchanged(file, verified);
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  if (await exists(target)) {
    if (!(await holdsVerifiedBytes(target, verified.size, bytes))) {
      throw new HoistError('cleanup.failed', { message: `Cannot move ${file}: ${target} already exists and holds other bytes. Hoist never overwrites it; move or rename it, and Hoist tries again.` });
    }
    await requireUnchanged(file, verified);
    await fs.promises.unlink(file);
    return 'copied';
  }
  try {
    await fs.promises.rename(file, target);
    return 'renamed';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
  }
  await copyVerified(file, target, verified, bytes);
  await requireUnchanged(file, verified);
  await fs.promises.unlink(file);
  return 'copied';
}

/** Across file systems: copy beside the target, fsync, check it against the ETag, then rename into place. */
async function copyVerified(file: string, target: string, verified: FileSnapshot, bytes: VerifiedBytes): Promise<void> {
  const partial = target + PARTIAL_SUFFIX;
  await fs.promises.rm(partial, { force: true });
  try {
    await fs.promises.copyFile(file, partial, fs.constants.COPYFILE_EXCL);
    const st = await fs.promises.stat(file, { bigint: true });
    const fh = await fs.promises.open(partial, 'r+');
    try {
      // Seconds as a double keep sub-microsecond precision (a Date would round to the millisecond).
      await fh.utimes(Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
      await fh.chmod(Number(st.mode) & 0o7777);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (!(await holdsVerifiedBytes(partial, verified.size, bytes))) {
      throw new HoistError('cleanup.failed', { message: `The copy of ${file} at ${target} does not match the verified object (ETag ${bytes.etag}); the source is kept.` });
    }
    await fs.promises.rename(partial, target);
    await syncDir(path.dirname(target));
  } catch (err) {
    await fs.promises.rm(partial, { force: true }).catch(() => undefined);
    throw err;
  }
}

async function holdsVerifiedBytes(file: string, size: number, bytes: VerifiedBytes): Promise<boolean> {
  const st = await fs.promises.stat(file);
  return st.isFile() && st.size === size && (await fileMatchesEtag(file, bytes.etag, bytes.partSizeHints));
}

async function exists(file: string): Promise<boolean> {
  return fs.promises.lstat(file).then(
    () => true,
    () => false,
  );
}

/** The new name is durable only once its folder is synced (where the OS allows opening a folder). */
async function syncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows cannot open a folder; its rename is durable enough.
  } finally {
    await fh?.close();
  }
}
