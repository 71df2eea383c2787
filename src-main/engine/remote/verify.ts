// `hoist verify`: for every file, whether the bucket holds the same bytes at the key an upload
// would give it (same, differs, missing, or cannot tell and why), with HeadObject and a local read
// of the file only: nothing is downloaded (same-object.ts). The check before a drive is wiped.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';
import { expandPaths } from '../enqueue.js';
import { toHoistError } from '../s3/errors.js';
import { multipartPartSize } from '../upload/part-plan.js';
import { compareFile, lookAtKey, type Verdict } from './same-object.js';

/** Files compared at once: HeadObject waits on the network, the read on the disk. */
const VERIFY_CONCURRENCY = 4;

export interface VerifyHost {
  clientFor(dest: Destination): Promise<S3Client>;
  /** Part sizes of the uploads Hoist completed at a key (hints for its multipart ETag). */
  partSizesAt(destinationId: number, key: string): number[];
}

/** One file's answer (docs/cli.md: `hoist verify --json`). */
export interface VerifiedFile {
  path: string;
  key: string;
  size: number;
  verdict: Verdict;
  /** What was compared, or why nothing could be. */
  why: string;
  /** The object's ETag, when there is one. */
  etag: string | null;
}

export interface VerifySummary {
  files: number;
  same: number;
  differs: number;
  missing: number;
  cannotTell: number;
}

/**
 * Compares each file under `paths` with its key in the destination, in order of the files, a few at
 * a time; `onFile` hears each answer in that order as soon as it and those before it are known. A
 * failed HeadObject (denied, unreachable) is that file's "cannot tell", with what the server said.
 */
export async function verifyFiles(host: VerifyHost, dest: Destination, paths: readonly string[], o: { prefix?: string; key?: string }, onFile: (f: VerifiedFile) => void = () => undefined): Promise<VerifiedFile[]> {
  const files = await expandPaths(paths, { destination: dest, ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.key !== undefined ? { key: o.key } : {}) });
  const client = await host.clientFor(dest);
  const results: Array<VerifiedFile | undefined> = new Array(files.length);
  let next = 0;
  let told = 0;
  const one = async (i: number): Promise<VerifiedFile> => {
    const f = files[i]!;
    const size = Number(f.st.size);
    const base = { path: f.abs, key: f.key, size };
    try {
      const remote = await lookAtKey(client, dest.bucket, f.key);
      const hints = [...host.partSizesAt(dest.id, f.key), multipartPartSize(size, dest)];
      const c = await compareFile(f.abs, size, remote, hints);
      return { ...base, verdict: c.verdict, why: c.why, etag: remote?.etag ?? null };
    } catch (err) {
      const e = toHoistError(err);
      return { ...base, verdict: 'cannot-tell', why: `${e.code}${e.info.operation ? ` (${e.info.operation})` : ''}: ${e.message}`, etag: null };
    }
  };
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await one(i);
      while (told < files.length && results[told]) onFile(results[told++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(VERIFY_CONCURRENCY, files.length) }, worker));
  return results as VerifiedFile[];
}

export function summarize(files: readonly VerifiedFile[]): VerifySummary {
  const n = (v: Verdict) => files.filter((f) => f.verdict === v).length;
  return { files: files.length, same: n('same'), differs: n('differs'), missing: n('missing'), cannotTell: n('cannot-tell') };
}
