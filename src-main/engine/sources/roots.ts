// The folders a host may read files from (issue 14): `hoist serve --root DIR` (repeatable), the
// user's home by default. Every path a renderer names, to list or to queue, is checked here first:
// absolute, no `.` or `..` segment, and, with every symlink resolved (realpath), under one of the
// roots, which are themselves resolved the same way. A path outside is refused before anything
// reads it, with `source.outside-roots`; so is a path that only a symlink leads out of.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';

/** True when `p` is `root` or lies under it (both absolute and normalised; no file system access). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/** Refuses what is not a plain absolute path: relative, with a NUL, or with `.` or `..` segments. */
export function checkPathShape(p: string): void {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0') || !path.isAbsolute(p)) {
    throw new HoistError('config.invalid', { message: `${String(p).slice(0, 200)} is not an absolute path.` });
  }
  // "/home/me/../../etc" names another folder than it seems to: refused, not resolved.
  if (p.split(/[\\/]/).some((segment) => segment === '.' || segment === '..')) {
    throw new HoistError('config.invalid', { message: `${p.slice(0, 200)} must not contain . or .. segments.` });
  }
}

/** The user's home: where a host may read files unless told otherwise. */
export function defaultRoots(): string[] {
  return [os.homedir()];
}

/**
 * Checks roots given on a command line: each must be an existing folder. Returns them absolute;
 * throws `config.invalid` naming the first that is not.
 */
export function checkRoots(roots: readonly string[]): string[] {
  return roots.map((r) => {
    const abs = path.resolve(r);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch (err) {
      throw new HoistError('config.invalid', { message: `--root ${r}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message}.` });
    }
    if (!st.isDirectory()) throw new HoistError('config.invalid', { message: `--root ${r} is not a folder.` });
    return abs;
  });
}

async function realpathOrNull(p: string): Promise<string | null> {
  try {
    return await fs.promises.realpath(p);
  } catch {
    return null;
  }
}

export class SourceRoots {
  private readonly given: readonly string[];

  /** Roots as given (absolute); resolved at every check, so a volume mounted later counts. */
  constructor(roots: readonly string[]) {
    this.given = roots.map((r) => path.resolve(r));
  }

  /** The roots that exist now, with symlinks resolved, without duplicates. */
  async real(): Promise<string[]> {
    const out: string[] = [];
    for (const r of this.given) {
      const real = await realpathOrNull(r);
      if (real !== null && !out.includes(real)) out.push(real);
    }
    return out;
  }

  /** The root `real` (a resolved path) lies under, the deepest when roots nest. */
  rootOf(real: string, roots: readonly string[]): string | undefined {
    return roots.filter((r) => isInside(r, real)).sort((a, b) => b.length - a.length)[0];
  }

  /**
   * The real path of `p` when it lies under a root; otherwise throws `source.outside-roots` (or
   * `config.invalid` for a path that is not absolute or has `..`). A path that does not exist is
   * judged by its deepest existing folder, so nothing outside the roots can be probed either.
   */
  async admit(p: string): Promise<string> {
    checkPathShape(p);
    const roots = await this.real();
    const refuse = (how: string) =>
      new HoistError('source.outside-roots', {
        message:
          roots.length === 0
            ? `${p} cannot be read: this Hoist has no folder it may read files from (its roots ${this.given.join(', ')} do not exist). Start it with --root DIR.`
            : `${p} ${how} outside the folders this Hoist may read files from (${roots.join(', ')}). Choose files under one of them, or start hoist serve with --root for another folder.`,
      });
    const real = await realpathOrNull(p);
    if (real === null) {
      // Missing: say so only when where it would be lies inside a root.
      let above = path.dirname(p);
      let realAbove = await realpathOrNull(above);
      while (realAbove === null && path.dirname(above) !== above) {
        above = path.dirname(above);
        realAbove = await realpathOrNull(above);
      }
      if (realAbove === null || !this.rootOf(realAbove, roots)) throw refuse('is');
      throw new HoistError('source.missing', { message: `${p} does not exist (moved, renamed or on a volume that is not mounted).` });
    }
    if (this.rootOf(real, roots)) return real;
    const logicallyInside = roots.some((r) => isInside(r, p)) || this.given.some((r) => isInside(r, p));
    throw refuse(logicallyInside ? 'is a symlink (or lies under one) that leads' : 'is');
  }
}
