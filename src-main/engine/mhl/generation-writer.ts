// Writes the next generation of a root's ASC MHL history into the bucket, once a batch of its files
// has arrived (issue 8). The history continues as it would on a copied drive: the source's own
// generations (written at offload) travel into `<root>/ascmhl/` beside the media, Hoist's
// generation N+1 documents the transfer (each file `verified` where the source history vouched for
// it, `original` otherwise), and the chain file lists every generation by its C4 ID.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';
import * as ops from '../s3/operations.js';
import type { BatchRecord, BatchStore } from '../store/batch-store.js';
import type { JobRecord } from '../store/job-store.js';
import { c4Of } from '../upload/file-hashes.js';
import { DEFAULT_IGNORED_NAMES } from '../folders/filters.js';
import {
  ASCMHL_FOLDER,
  CHAIN_FILE,
  MHL_HASH_FORMATS,
  buildChain,
  buildManifest,
  generationOf,
  manifestFileName,
  parseChain,
  type ChainEntry,
  type ManifestEntry,
} from './manifest.js';
import { SourceHistory } from './source-history.js';

export interface ToolInfo {
  name: string;
  version: string;
}

export interface WrittenGeneration {
  /** Null when none of the batch's files arrived (nothing to vouch for). */
  generation: number | null;
  manifestKey: string | null;
  listedJobIds: number[];
  /** Source generations copied into the bucket's history. */
  copied: string[];
}

const XML = 'application/xml';

/** Hoist's name and version, as package.json has them, for `<creatorinfo><tool>`. */
export function hoistTool(): ToolInfo {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { productName?: string; version?: string };
    return { name: pkg.productName ?? 'Hoist', version: pkg.version ?? '0.0.0' };
  } catch {
    return { name: 'Hoist', version: '0.0.0' };
  }
}

/** What each arrived file contributes to the manifest (files without an ASC MHL hash format cannot be listed). */
function entriesOf(jobs: readonly JobRecord[]): Array<{ job: JobRecord; entry: ManifestEntry }> {
  const out: Array<{ job: JobRecord; entry: ManifestEntry }> = [];
  for (const job of jobs) {
    if (job.state !== 'done' || !job.mhlPath) continue;
    if (!MHL_HASH_FORMATS.some((f) => job.hashes[f] !== undefined)) continue;
    out.push({
      job,
      entry: {
        path: job.mhlPath,
        size: job.size,
        lastModified: new Date(job.mtimeMs),
        hashes: job.hashes,
        action: job.verifiedBy ? 'verified' : 'original',
        // The moment the copy was proven: every part and the object's ETag verified, the hashes computed from the same bytes.
        hashDate: new Date(job.finishedAt ?? Date.now()),
      },
    });
  }
  return out.sort((x, y) => (x.entry.path < y.entry.path ? -1 : x.entry.path > y.entry.path ? 1 : 0));
}

export class GenerationWriter {
  constructor(
    private readonly batches: BatchStore,
    private readonly tool: ToolInfo = hoistTool(),
    private readonly hostname: string = os.hostname(),
  ) {}

  async write(client: S3Client, dest: Destination, batch: BatchRecord, jobs: readonly JobRecord[], now = new Date()): Promise<WrittenGeneration> {
    const listed = entriesOf(jobs);
    if (listed.length === 0) return { generation: null, manifestKey: null, listedJobIds: [], copied: [] };
    const folder = `${batch.keyPrefix}${ASCMHL_FOLDER}/`;
    const object = { contentType: XML, storageClass: dest.storageClass, sse: dest.sse, sseKmsKeyId: dest.sseKmsKeyId };

    // The bucket's history so far: its chain, and the manifests there (a chain lost or behind must not make a number twice).
    const chainXml = await ops.getSmallObject(client, batch.bucket, folder + CHAIN_FILE);
    const chain = new Map<string, ChainEntry>((chainXml ? parseChain(chainXml) : []).map((e) => [e.path, e]));
    const present = new Set<string>();
    for await (const o of ops.listObjectKeys(client, batch.bucket, folder)) present.add(o.key.slice(folder.length));

    // The source's own history travels with its media, as it would on a copied drive.
    const copied: string[] = [];
    const source = await SourceHistory.load(batch.root);
    for (const g of source?.generations ?? []) {
      const body = await fs.promises.readFile(g.file);
      if (!present.has(g.name)) {
        await ops.putSmallObject(client, batch.bucket, folder + g.name, body, object);
        present.add(g.name);
        copied.push(g.name);
      }
      if (!chain.has(g.name)) chain.set(g.name, { sequence: g.generation, path: g.name, c4: c4Of(body) });
    }

    // The number and name are fixed before the PUT: after a crash the same object is written again, never a second one.
    let generation = batch.generation;
    let name = batch.manifestKey ? path.posix.basename(batch.manifestKey) : null;
    if (generation === null || name === null) {
      const taken = [...chain.values()].map((e) => e.sequence).concat([...present].map((n) => generationOf(n) ?? 0), this.batches.plannedGenerations(batch));
      generation = Math.max(0, ...taken) + 1;
      name = manifestFileName(generation, path.basename(batch.root), now);
      this.batches.planGeneration(batch.id, generation, folder + name);
    }
    const manifest = Buffer.from(
      buildManifest({
        createdAt: now,
        hostname: this.hostname,
        tool: this.tool,
        process: 'transfer',
        ignorePatterns: [...DEFAULT_IGNORED_NAMES, ASCMHL_FOLDER, `${ASCMHL_FOLDER}/`],
        entries: listed.map((l) => l.entry),
      }),
      'utf8',
    );
    await ops.putSmallObject(client, batch.bucket, folder + name, manifest, object);
    chain.set(name, { sequence: generation, path: name, c4: c4Of(manifest) });
    // Last: the chain names the manifest only once the manifest is there.
    await ops.putSmallObject(client, batch.bucket, folder + CHAIN_FILE, Buffer.from(buildChain([...chain.values()]), 'utf8'), object);
    return { generation, manifestKey: folder + name, listedJobIds: listed.map((l) => l.job.id), copied };
  }
}
