// Does a local file hold exactly the bytes of an object, judged by the object's ETag? A plain ETag
// is the MD5 of the bytes; a multipart one (md5-of-md5s-N) also depends on the part size, which is
// not stored, so the likely part sizes are tried in one read of the file.
import crypto, { type Hash } from 'node:crypto';
import fs from 'node:fs';
import { MiB } from '../../../shared/limits.js';
import { normalizeEtag } from '../upload/checksums.js';

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

/** Rolling MD5s for one assumed part size. */
class PartDigests {
  private current: Hash = crypto.createHash('md5');
  private filled = 0;
  readonly md5s: Buffer[] = [];

  constructor(private readonly partSize: number) {}

  update(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(this.partSize - this.filled, chunk.length - at);
      this.current.update(chunk.subarray(at, at + take));
      this.filled += take;
      at += take;
      if (this.filled === this.partSize) this.close();
    }
  }

  finish(): string {
    if (this.filled > 0) this.close();
    return `${crypto.createHash('md5').update(Buffer.concat(this.md5s)).digest('hex')}-${this.md5s.length}`;
  }

  private close(): void {
    this.md5s.push(this.current.digest());
    this.current = crypto.createHash('md5');
    this.filled = 0;
  }
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
  const before = await fs.promises.stat(file, { bigint: true });
  const size = Number(before.size);
  const whole = tags.some((t) => t && t.parts === 0) ? crypto.createHash('md5') : null;
  const bySize = new Map<number, PartDigests>();
  const sizesOf = tags.map((t) => (t && t.parts > 0 ? candidatePartSizes(size, t.parts, t.hints) : []));
  for (const p of sizesOf.flat()) if (!bySize.has(p)) bySize.set(p, new PartDigests(p));
  if (!whole && bySize.size === 0) return -1;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) {
    whole?.update(chunk as Buffer);
    for (const d of bySize.values()) d.update(chunk as Buffer);
  }
  const after = await fs.promises.stat(file, { bigint: true });
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return -1;
  const wholeHex = whole?.digest('hex');
  const finished = new Map([...bySize].map(([p, d]) => [p, d.finish()]));
  return tags.findIndex((t, i) => t !== null && (t.parts === 0 ? wholeHex === t.tag : sizesOf[i]!.some((p) => finished.get(p) === t.tag)));
}
