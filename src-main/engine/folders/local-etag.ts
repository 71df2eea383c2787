// Does a local file hold exactly the bytes of an object, judged by the object's ETag? A plain ETag
// is the MD5 of the bytes; a multipart one (md5-of-md5s-N) also depends on the part size, which is
// not stored, so the likely part sizes are tried in one read of the file. localDigests computes
// every digest asked for (ETags for several part sizes, a flexible checksum) in that one read.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MiB } from '../../../shared/limits.js';
import type { ChecksumAlgorithm } from '../../../shared/states.js';
import { compositeChecksum, createChecksummer, normalizeEtag, type Checksummer } from '../upload/checksums.js';

/** Part sizes other tools use by default (AWS CLI and SDKs 8 MiB, s3cmd 15 MiB, rclone 5 MiB, …). */
const COMMON_PART_SIZES = [8, 5, 16, 15, 64, 100, 128].map((n) => n * MiB);
const MAX_CANDIDATES = 4;

/** Part sizes that split `size` into exactly `parts` parts: our own plan first, then common ones. */
export function candidatePartSizes(size: number, parts: number, hints: readonly number[]): number[] {
  const fits = (p: number) => p > 0 && Math.ceil(size / p) === parts;
  const smallestWholeMiB = Math.ceil(size / parts / MiB) * MiB;
  const all = [...hints, smallestWholeMiB, ...COMMON_PART_SIZES].filter(fits);
  return [...new Set(all)].slice(0, MAX_CANDIDATES);
}

/** A digest being fed: an MD5 (node:crypto) or a flexible checksum (upload/checksums.ts). */
type Digester = Pick<Checksummer, 'update' | 'digest'>;

/** Rolling digests of one assumed part size: each part's digest once it is full. */
class PartDigests {
  private current: Digester;
  private filled = 0;
  readonly digests: Buffer[] = [];

  constructor(
    private readonly partSize: number,
    private readonly make: () => Digester,
  ) {
    this.current = make();
  }

  update(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(this.partSize - this.filled, chunk.length - at);
      this.current.update(chunk.subarray(at, at + take));
      this.filled += take;
      at += take;
      if (this.filled === this.partSize) this.close();
    }
  }

  finish(): Buffer[] {
    // An empty file is one empty part, as S3 has it.
    if (this.filled > 0 || this.digests.length === 0) this.close();
    return this.digests;
  }

  private close(): void {
    this.digests.push(this.current.digest());
    this.current = this.make();
    this.filled = 0;
  }
}

const md5 = (): Digester => crypto.createHash('md5');

/** The multipart ETag (`md5-of-md5s-N`, no quotes) of parts' raw MD5s. */
function etagOfParts(md5s: readonly Buffer[]): string {
  return `${crypto.createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}`;
}

/** What to compute over one read of a file. */
export interface DigestRequest {
  /** The plain MD5 of the whole file (a single-part object's ETag). */
  md5?: boolean;
  /** The multipart ETag for each of these part sizes. */
  partSizes?: readonly number[];
  /** A flexible checksum: of the whole file (`partSize` null: S3's FULL_OBJECT), or composite over parts of `partSize` (S3's COMPOSITE, `base64-N`). */
  checksum?: { algorithm: ChecksumAlgorithm; partSize: number | null };
}

export interface LocalDigests {
  /** Hex MD5 of the whole file. */
  md5?: string;
  /** Part size → multipart ETag (`<hex>-<parts>`), as S3 computes it for parts of that size. */
  etags: Map<number, string>;
  /** Base64 checksum (composite ones end in `-N`). */
  checksum?: string;
}

/**
 * Everything asked for in one read of the file, or null when the file changed (size or mtime)
 * while it was read: then nothing can be said of its bytes.
 */
export async function localDigests(file: string, req: DigestRequest): Promise<LocalDigests | null> {
  const before = await fs.promises.stat(file, { bigint: true });
  const whole = req.md5 ? crypto.createHash('md5') : null;
  const byPartSize = new Map<number, PartDigests>();
  for (const p of req.partSizes ?? []) if (p > 0 && !byPartSize.has(p)) byPartSize.set(p, new PartDigests(p, md5));
  const sum = req.checksum;
  const sumWhole = sum && sum.partSize === null ? createChecksummer(sum.algorithm) : null;
  const sumParts = sum && sum.partSize !== null ? new PartDigests(sum.partSize, () => createChecksummer(sum.algorithm)) : null;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) {
    const c = chunk as Buffer;
    whole?.update(c);
    for (const d of byPartSize.values()) d.update(c);
    sumWhole?.update(c);
    sumParts?.update(c);
  }
  const after = await fs.promises.stat(file, { bigint: true });
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return null;
  const out: LocalDigests = { etags: new Map([...byPartSize].map(([p, d]) => [p, etagOfParts(d.finish())])) };
  if (whole) out.md5 = whole.digest('hex');
  if (sumWhole) out.checksum = sumWhole.digest().toString('base64');
  if (sumParts && sum) out.checksum = compositeChecksum(sum.algorithm, sumParts.finish().map((b) => b.toString('base64')));
  return out;
}

/**
 * True when the file's bytes give this ETag. False when they do not, when the ETag is not an MD5
 * kind (SSE-KMS), or when the file changed while it was read.
 */
export async function fileMatchesEtag(file: string, etag: string, partSizeHints: readonly number[] = []): Promise<boolean> {
  return (await firstMatchingEtag(file, [{ etag, partSizeHints }])) === 0;
}

/**
 * The index of the first ETag the file's bytes give, or -1; one read of the file serves them all (many
 * same-size files with one mtime, a frame sequence, would otherwise read the file once per candidate).
 */
export async function firstMatchingEtag(file: string, wanted: ReadonlyArray<{ etag: string; partSizeHints?: readonly number[] }>): Promise<number> {
  const tags = wanted.map((w) => {
    const m = /^([0-9a-f]{32})(?:-(\d+))?$/.exec(normalizeEtag(w.etag));
    return m ? { tag: m[0], parts: m[2] ? Number(m[2]) : 0, hints: w.partSizeHints ?? [] } : null;
  });
  if (tags.every((t) => t === null)) return -1;
  const size = Number((await fs.promises.stat(file, { bigint: true })).size);
  const sizesOf = tags.map((t) => (t && t.parts > 0 ? candidatePartSizes(size, t.parts, t.hints) : []));
  const md5Wanted = tags.some((t) => t && t.parts === 0);
  if (!md5Wanted && sizesOf.every((s) => s.length === 0)) return -1;
  const got = await localDigests(file, { md5: md5Wanted, partSizes: sizesOf.flat() });
  if (!got) return -1;
  return tags.findIndex((t, i) => t !== null && (t.parts === 0 ? got.md5 === t.tag : sizesOf[i]!.some((p) => got.etags.get(p) === t.tag)));
}
