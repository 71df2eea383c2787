// Whole-file hashes for media teams (issue 8): xxHash (xxh64, xxh3, xxh128) from hash-wasm's
// WebAssembly builds, MD5 and SHA-1/-256 from Node's OpenSSL (several times faster than any
// WebAssembly build here, see `npm run bench:hash`), and the C4 ID (SMPTE ST 2114) from SHA-512.
import { createHash, type Hash } from 'node:crypto';
import basex from 'base-x';
import type { IHasher } from 'hash-wasm';
import { HoistError } from '../../../shared/errors.js';
import { FILE_HASH_ALGORITHMS, type FileHashAlgorithm, type FileHashes } from '../../../shared/states.js';
import { requireCjs } from '../cjs.js';

// Through require: the part worker threads load this module (cjs.ts).
const { createXXHash128, createXXHash3, createXXHash64 } = requireCjs('hash-wasm') as typeof import('hash-wasm');

/** C4's base58 alphabet (no 0, O, I, l), as in SMPTE ST 2114. */
const C4_BASE58 = basex('123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz');
const C4_DIGITS = 88;

/** The C4 ID of a SHA-512 digest: `c4` and the digest as a base58 number, left-padded with '1' (zero) to 90 characters. */
export function c4FromSha512(digest: Uint8Array): string {
  if (digest.length !== 64) throw new Error(`a SHA-512 digest has 64 bytes, not ${digest.length}`);
  // base-x writes each leading zero byte as '1', which is also base58's zero digit: padding keeps the value.
  return 'c4' + C4_BASE58.encode(digest).padStart(C4_DIGITS, '1');
}

/** The C4 ID of a buffer (the chain file identifies each manifest by it). */
export function c4Of(data: Uint8Array | string): string {
  return c4FromSha512(createHash('sha512').update(data).digest());
}

interface Digester {
  update(d: Uint8Array): void;
  digest(): string;
  /** The running state, to go on from after a restart; absent where the library cannot export it (OpenSSL's). */
  save?(): Uint8Array;
  /** Back to the empty input, for the next file. */
  reset(): void;
}

function nodeDigester(algorithm: 'md5' | 'sha1' | 'sha256' | 'sha512', format: (digest: Buffer) => string = (d) => d.toString('hex')): Digester {
  let h: Hash = createHash(algorithm);
  return { update: (d) => void h.update(d), digest: () => format(h.digest()), reset: () => void (h = createHash(algorithm)) };
}

function wasmDigester(h: IHasher, state: Uint8Array | undefined): Digester {
  if (state) h.load(state);
  else h.init();
  // hash-wasm prints the canonical (big-endian) form, the one xxhsum and ASC MHL write.
  return { update: (d) => void h.update(d), digest: () => h.digest('hex'), save: () => h.save(), reset: () => void h.init() };
}

async function digester(algorithm: FileHashAlgorithm, state?: Uint8Array): Promise<Digester> {
  if (state && !RESUMABLE.has(algorithm)) throw new Error(`a ${algorithm} hash cannot be resumed from a saved state`);
  switch (algorithm) {
    case 'xxh64':
      return wasmDigester(await createXXHash64(), state);
    case 'xxh3':
      return wasmDigester(await createXXHash3(), state);
    case 'xxh128':
      return wasmDigester(await createXXHash128(), state);
    case 'md5':
    case 'sha1':
    case 'sha256':
      return nodeDigester(algorithm);
    case 'c4':
      return nodeDigester('sha512', c4FromSha512);
  }
}

/** The hashes whose running state can be saved and loaded (hash-wasm's), so a long pass goes on after a restart. */
const RESUMABLE: ReadonlySet<FileHashAlgorithm> = new Set(['xxh64', 'xxh3', 'xxh128']);

/** Each hash's running state, base64, as `FileHasher.save` gives it. */
export type HashStates = Partial<Record<FileHashAlgorithm, string>>;

/** Every requested hash over one sequential read of the bytes. */
export class FileHasher {
  private constructor(private readonly digesters: ReadonlyArray<readonly [FileHashAlgorithm, Digester]>) {}

  /** With `states`, each hash goes on from where a previous pass saved it. */
  static async create(algorithms: readonly FileHashAlgorithm[], states?: HashStates): Promise<FileHasher> {
    const unique = [...new Set(algorithms)];
    return new FileHasher(
      await Promise.all(
        unique.map(async (a) => {
          const saved = states?.[a];
          if (states && saved === undefined) throw new Error(`the saved hash states have no ${a}`);
          return [a, await digester(a, saved === undefined ? undefined : Buffer.from(saved, 'base64'))] as const;
        }),
      ),
    );
  }

  update(chunk: Uint8Array): void {
    for (const [, d] of this.digesters) d.update(chunk);
  }

  /** Every hash's running state, or null when one of them cannot be saved. */
  save(): HashStates | null {
    if (!this.digesters.every(([, d]) => d.save)) return null;
    return Object.fromEntries(this.digesters.map(([a, d]) => [a, Buffer.from(d.save!()).toString('base64')]));
  }

  digest(): FileHashes {
    const out: FileHashes = {};
    for (const [a, d] of this.digesters) out[a] = d.digest();
    return out;
  }

  /** Ready for another file's bytes: a thread hashing thousands of small files instantiates its WebAssembly hashers once. */
  reset(): void {
    for (const [, d] of this.digesters) d.reset();
  }
}

/** The hashes of a buffer (tests, manifests). */
export async function hashBuffer(data: Uint8Array, algorithms: readonly FileHashAlgorithm[]): Promise<FileHashes> {
  const h = await FileHasher.create(algorithms);
  h.update(data);
  return h.digest();
}

export function isFileHashAlgorithm(v: unknown): v is FileHashAlgorithm {
  return typeof v === 'string' && (FILE_HASH_ALGORITHMS as readonly string[]).includes(v);
}

/** `xxh64,md5` (any case, spaces allowed) or `none`; in the canonical order, each once. */
export function parseHashList(v: string): FileHashAlgorithm[] {
  const names = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 1 && names[0] === 'none') return [];
  const bad = names.filter((n) => !isFileHashAlgorithm(n));
  if (names.length === 0 || bad.length > 0) {
    throw new HoistError('config.invalid', { message: `"${v}" is not a list of hashes: use ${FILE_HASH_ALGORITHMS.join(', ')} (comma-separated), or none.` });
  }
  return FILE_HASH_ALGORITHMS.filter((a) => names.includes(a));
}
