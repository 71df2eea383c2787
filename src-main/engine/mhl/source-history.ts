// The ASC MHL history a source folder already carries (written at offload by Silverstack, OffShoot,
// ShotPut Pro, ascmhl …): which folder is a file's root, what the newest generation listing a file
// recorded, and whether the file's hashes agree with it (issue 8).
import fs from 'node:fs';
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import { FILE_HASH_ALGORITHMS, type FileHashAlgorithm, type FileHashes } from '../../../shared/states.js';
import type { HashVerification } from '../../../shared/types.js';
import { c4Of } from '../upload/file-hashes.js';
import { ASCMHL_FOLDER, CHAIN_FILE, generationOf, parseChain, parseManifest, type ChainEntry } from './manifest.js';

export interface HistoryRecord {
  /** The manifest that listed the file, relative to the root (`ascmhl/0003_….mhl`). */
  manifest: string;
  generation: number;
  size: number | null;
  hashes: FileHashes;
}

export interface GenerationFile {
  name: string;
  generation: number;
  file: string;
}

/** A root folder's `ascmhl/` as it is on disk. */
export class SourceHistory {
  private constructor(
    readonly root: string,
    readonly generations: readonly GenerationFile[],
    readonly chain: readonly ChainEntry[],
    /** NFC path → what the newest generation listing it recorded. */
    private readonly newest: ReadonlyMap<string, HistoryRecord>,
  ) {}

  /** The history under `root/ascmhl/`, or null when there is none. */
  static async load(root: string): Promise<SourceHistory | null> {
    const dir = path.join(root, ASCMHL_FOLDER);
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw new HoistError('source.unreadable', { message: `Cannot read the ASC MHL history in ${dir}: ${(err as Error).message}` });
    }
    const generations = names
      .map((name) => ({ name, generation: generationOf(name), file: path.join(dir, name) }))
      .filter((g): g is GenerationFile => g.generation !== null)
      .sort((a, b) => a.generation - b.generation);
    let chain: ChainEntry[] = [];
    const chainFile = path.join(dir, CHAIN_FILE);
    if (names.includes(CHAIN_FILE)) {
      try {
        chain = parseChain(await fs.promises.readFile(chainFile));
      } catch (err) {
        throw new HoistError('source.unreadable', { message: `The ASC MHL chain ${chainFile} cannot be read: ${(err as Error).message}` });
      }
    }
    const newest = new Map<string, HistoryRecord>();
    for (const g of generations) {
      let listed;
      let bytes: Buffer;
      try {
        bytes = await fs.promises.readFile(g.file);
        listed = parseManifest(bytes);
      } catch (err) {
        throw new HoistError('source.unreadable', { message: `The ASC MHL manifest ${g.file} cannot be read: ${(err as Error).message}` });
      }
      // The chain's C4 ID seals each manifest: one changed since it was written vouches for nothing.
      const sealed = chain.find((e) => e.path === g.name);
      if (sealed && sealed.c4 !== c4Of(bytes)) {
        throw new HoistError('source.hash-mismatch', {
          message: `The ASC MHL manifest ${g.file} is not the one its chain (${chainFile}) recorded: its C4 ID is ${c4Of(bytes)}, the chain says ${sealed.c4}. It was changed after it was written, so it cannot vouch for any file.`,
        });
      }
      // Later generations replace earlier ones: the newest record of a file is the reference.
      for (const f of listed) {
        if (Object.keys(f.hashes).length === 0) continue;
        newest.set(f.path.normalize('NFC'), { manifest: `${ASCMHL_FOLDER}/${g.name}`, generation: g.generation, size: f.size, hashes: f.hashes });
      }
    }
    return new SourceHistory(root, generations, chain, newest);
  }

  lookup(relPath: string): HistoryRecord | null {
    return this.newest.get(relPath.normalize('NFC')) ?? null;
  }
}

/**
 * Histories by root, read again only when something in their `ascmhl/` folder changed. A job is
 * answered only by a look at the folder that started after it opened (`since`, a ticket taken then):
 * jobs opened before a look share it, a job opened after it looks again, so a history written at any
 * time before a job opens is seen by it, as when every job looked for itself. Issue 12: the scheduler
 * opens several frames of a folder at once, and each one's look cost a `readdir` failing with ENOENT.
 * The roots used least recently are forgotten past `MAX_HISTORY_ROOTS`: a watcher that ingests card
 * after card for weeks would otherwise keep every card's records (one per file) for the life of the
 * process; a forgotten root costs one read of its history if it is seen again.
 */
export const MAX_HISTORY_ROOTS = 64;

export class SourceHistories {
  private readonly cache = new Map<string, { stamp: string; history: SourceHistory | null }>();
  /** The last look started per root, numbered in the order they started. */
  private readonly looks = new Map<string, { n: number; history: Promise<SourceHistory | null> }>();
  private started = 0;

  /** Taken when a job opens: only looks started after it answer that job. */
  ticket(): number {
    return this.started;
  }

  /** The root's history as a look started after `since` (a ticket) found it; without one, a look of its own. */
  forRoot(root: string, since?: number): Promise<SourceHistory | null> {
    const last = this.looks.get(root);
    this.looks.delete(root);
    if (last && since !== undefined && last.n > since) {
      this.looks.set(root, last);
      return last.history;
    }
    const look = { n: ++this.started, history: this.look(root) };
    this.looks.set(root, look);
    this.forgetOldest();
    return look.history;
  }

  /** Roots whose last look (and history) is held. */
  get heldRoots(): number {
    return this.looks.size;
  }

  /** Maps iterate in insertion order and every use re-inserts its root: the first is the least recently used. */
  private forgetOldest(): void {
    while (this.looks.size > MAX_HISTORY_ROOTS) {
      const oldest = this.looks.keys().next().value as string;
      this.looks.delete(oldest);
      this.cache.delete(oldest);
    }
  }

  private async look(root: string): Promise<SourceHistory | null> {
    const stamp = await folderStamp(path.join(root, ASCMHL_FOLDER));
    const hit = this.cache.get(root);
    if (hit && hit.stamp === stamp) return hit.history;
    const history = stamp === '' ? null : await SourceHistory.load(root);
    // Forgotten while this look ran: not kept, so the cache holds only the roots `looks` holds.
    if (this.looks.has(root)) this.cache.set(root, { stamp, history });
    return history;
  }
}

/** Names, sizes and mtimes of a folder's entries: changes whenever a generation is added or rewritten. */
async function folderStamp(dir: string): Promise<string> {
  let names: string[];
  try {
    names = (await fs.promises.readdir(dir)).sort();
  } catch {
    return '';
  }
  const parts = await Promise.all(
    names.map(async (n) => {
      const st = await fs.promises.stat(path.join(dir, n)).catch(() => null);
      return `${n}:${st?.size ?? '-'}:${st?.mtimeMs ?? '-'}`;
    }),
  );
  return parts.join('|') || 'empty';
}

/**
 * The folder whose history describes `file`: the nearest folder from the file's own up to `base`
 * that holds an `ascmhl/` folder (a camera card inside an ingest folder), else `base` itself.
 */
export function mhlRootOf(base: string, file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (fs.statSync(path.join(dir, ASCMHL_FOLDER), { throwIfNoEntry: false })?.isDirectory()) return dir;
    if (dir === base || !dir.startsWith(base + path.sep)) return base;
  }
}

/**
 * Where a file sits for ASC MHL (its root and path under it) and, given its object key, where that
 * root lands in the bucket (the key must end with the path, so the bucket's history lists its objects).
 */
export function mhlPlacement(base: string, file: string, key: string | null): { root: string; path: string; rootPrefix: string } {
  const root = mhlRootOf(base, file);
  const rel = path.relative(root, file).split(path.sep).join('/').normalize('NFC');
  if (key === null) return { root, path: rel, rootPrefix: '' };
  if (!key.endsWith(rel)) {
    throw new HoistError('config.invalid', { message: `An ASC MHL history lists ${rel} under its root, but the object key is ${key}: use a prefix, not a key of its own, with ASC MHL.` });
  }
  return { root, path: rel, rootPrefix: key.slice(0, key.length - rel.length) };
}

/** True for a path (relative to its root, `/`-separated) inside an `ascmhl/` folder: the history itself, not media. */
export function isHistoryPath(relPath: string): boolean {
  return relPath.split('/').slice(0, -1).includes(ASCMHL_FOLDER);
}

/** The algorithms a history record can be checked with. */
export function recordAlgorithms(record: HistoryRecord): FileHashAlgorithm[] {
  return FILE_HASH_ALGORITHMS.filter((a) => record.hashes[a] !== undefined);
}

/**
 * Compares a file's hashes with what its history recorded: every algorithm both have must agree.
 * Throws `source.hash-mismatch` naming the file, both values and the manifest; returns the
 * verification, or null when no algorithm is common to both.
 */
export function verifyAgainstHistory(file: string, root: string, record: HistoryRecord, hashes: FileHashes): HashVerification | null {
  const common = FILE_HASH_ALGORITHMS.filter((a) => record.hashes[a] !== undefined && hashes[a] !== undefined);
  const wrong = common.find((a) => record.hashes[a] !== hashes[a]);
  if (wrong) {
    const manifest = path.join(root, ...record.manifest.split('/'));
    throw new HoistError('source.hash-mismatch', {
      message: `${file}: its ${wrong} is ${hashes[wrong]}, but the ASC MHL history recorded ${record.hashes[wrong]} in ${manifest}. The file differs from the one offloaded; it was not uploaded.`,
      detail: `${wrong} computed ${hashes[wrong]}, recorded ${record.hashes[wrong]} (${manifest}, generation ${record.generation})`,
    });
  }
  return common.length > 0 ? { manifest: record.manifest, algorithms: common } : null;
}
