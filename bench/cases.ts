// The cases issue 12 compares clients on: one big clip, a folder of many 1 MiB files, an image
// sequence of 12 MiB frames. Random bytes (nothing compresses), written once per bench run; every
// upload is checked by listing what arrived (count and sizes) and then deleted.
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { formatBytes } from '../src-main/engine/upload/part-plan.js';
import { writeRandomFile } from './fixtures.js';
import { MiB } from './process-stats.js';

export type CaseId = 'clip' | 'files' | 'frames';
export const CASE_IDS: readonly CaseId[] = ['clip', 'files', 'frames'];

export interface CaseSpec {
  id: CaseId;
  /** Files in the case (1 for the clip) and the size of each. */
  count: number;
  fileBytes: number;
}

export interface PreparedCase extends CaseSpec {
  label: string;
  /** The clip's file, or the folder of files. */
  path: string;
  isFolder: boolean;
  bytes: number;
  /** Every file, for evicting them from the page cache. */
  files: string[];
}

export function caseLabel(spec: CaseSpec): string {
  return spec.id === 'clip' ? `${formatBytes(spec.fileBytes)} clip` : `${spec.count.toLocaleString('en-US')} × ${formatBytes(spec.fileBytes)} ${spec.id === 'frames' ? 'frames' : 'files'}`;
}

/** "2000x1MiB" → count and size. */
export function parseCount(text: string, parseSize: (t: string) => number): { count: number; fileBytes: number } {
  const m = /^(\d+)\s*[x×]\s*(.+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new Error(`"${text}" is not COUNTxSIZE (e.g. 2000x1MiB)`);
  return { count: Number(m[1]), fileBytes: parseSize(m[2]!) };
}

export async function prepareCase(spec: CaseSpec, workDir: string): Promise<PreparedCase> {
  const label = caseLabel(spec);
  if (spec.id === 'clip') {
    const file = path.join(workDir, 'A001_C003.mov');
    await writeRandomFile(file, spec.fileBytes);
    return { ...spec, label, path: file, isFolder: false, bytes: spec.fileBytes, files: [file] };
  }
  const dir = path.join(workDir, spec.id === 'frames' ? 'render_v12' : 'stills');
  fs.mkdirSync(dir, { recursive: true });
  const buf = Buffer.allocUnsafe(spec.fileBytes);
  const files: string[] = [];
  for (let i = 0; i < spec.count; i++) {
    const file = path.join(dir, spec.id === 'frames' ? `render_v12.${String(86_400 + i).padStart(7, '0')}.dpx` : `IMG_${String(i).padStart(5, '0')}.jpg`);
    randomFillSync(buf);
    fs.writeFileSync(file, buf);
    files.push(file);
  }
  return { ...spec, label, path: dir, isFolder: true, bytes: spec.count * spec.fileBytes, files };
}

/** Drops the files' pages from the page cache (posix_fadvise DONTNEED through GNU dd), so they are read from the device again. */
export function evictFromPageCache(files: readonly string[]): void {
  for (const file of files) execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/** Lists what arrived under `prefix/`: every file of the case, at its size, or it throws. Then deletes it all. */
export async function verifyAndClear(client: S3Client, bucket: string, prefix: string, c: PreparedCase): Promise<void> {
  const sizes = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of page.Contents ?? []) sizes.set(o.Key!, o.Size ?? -1);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  try {
    const wrong = [...sizes.values()].filter((n) => n !== c.fileBytes).length;
    if (sizes.size !== c.count || wrong > 0) {
      throw new Error(`${prefix}: ${sizes.size} objects arrived (${wrong} of the wrong size); the case has ${c.count} of ${formatBytes(c.fileBytes)}`);
    }
  } finally {
    // radosgw's memstore keeps everything in RAM: free it before the next run.
    const keys = [...sizes.keys()];
    for (let at = 0; at < keys.length; at += 32) {
      await Promise.all(keys.slice(at, at + 32).map((Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined)));
    }
  }
}

/** A sparse file: for a peak-RSS run at a size whose bytes need not be random (memory does not depend on them). */
export function writeSparseFile(file: string, size: number): void {
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
}

export const DEFAULT_CASES: Record<CaseId, CaseSpec> = {
  clip: { id: 'clip', count: 1, fileBytes: 2048 * MiB },
  files: { id: 'files', count: 2000, fileBytes: MiB },
  frames: { id: 'frames', count: 170, fileBytes: 12 * MiB },
};
