// `npm run bench:hash`: what each whole-file hash costs on this machine (issue 8), as MB/s and CPU
// seconds per GiB: each algorithm alone over bytes in memory (one core), the combinations a folder
// is likely to ask for, the WebAssembly builds Hoist does not use for MD5/SHA (why: they are slower
// than OpenSSL), and the real pass (a worker thread reading a file from the page cache).
// HOIST_HASH_BENCH_MIB sets the amount hashed per line (default 1024).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMD5, createSHA1, createSHA256, type IHasher } from 'hash-wasm';
import { FILE_HASH_ALGORITHMS, type FileHashAlgorithm } from '../shared/states.js';
import { FileHasher } from '../src-main/engine/upload/file-hashes.js';
import { WorkerPool } from '../src-main/engine/upload/worker-pool.js';
import { fixed, table } from './report.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const total = Number(process.env.HOIST_HASH_BENCH_MIB ?? 1024) * MIB;
const CHUNK = 4 * MIB;
const source = crypto.randomBytes(16 * MIB);

interface Figure {
  label: string;
  bytes: number;
  wallS: number;
  cpuS: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function measure(label: string, run: () => Promise<void> | void): Promise<Figure> {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await run();
  return { label, bytes: total, wallS: (performance.now() - t0) / 1000, cpuS: cpuSeconds() - cpu0 };
}

/** Feeds `total` bytes in 4 MiB chunks, as the worker's pass does. */
function feed(update: (chunk: Uint8Array) => void): void {
  for (let done = 0; done < total; done += CHUNK) {
    const at = done % source.length;
    update(source.subarray(at, at + Math.min(CHUNK, total - done)));
  }
}

async function inMemory(algorithms: readonly FileHashAlgorithm[]): Promise<Figure> {
  const h = await FileHasher.create(algorithms);
  h.update(source.subarray(0, 1024)); // warm the JIT and the WebAssembly instance
  const fresh = await FileHasher.create(algorithms);
  return measure(algorithms.join(' + '), () => {
    feed((c) => fresh.update(c));
    fresh.digest();
  });
}

async function wasmAlternative(label: string, make: () => Promise<IHasher>): Promise<Figure> {
  const h = await make();
  h.init();
  return measure(label, () => {
    feed((c) => h.update(c));
    h.digest();
  });
}

/** The pass Hoist runs: a worker thread reads the file in order and hashes it (page cache warm, so this is the CPU side). */
async function workerPass(algorithms: FileHashAlgorithm[]): Promise<Figure> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-hash-bench-'));
  const file = path.join(dir, 'clip.mov');
  const fd = fs.openSync(file, 'w');
  for (let done = 0; done < total; done += source.length) fs.writeSync(fd, source, 0, Math.min(source.length, total - done));
  fs.closeSync(fd);
  const st = fs.statSync(file, { bigint: true });
  const snapshot = { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: st.ino.toString() };
  const pool = new WorkerPool(1);
  try {
    const task = { kind: 'hash-file' as const, path: file, offset: 0, length: snapshot.size, snapshot, checksumAlgorithm: null, algorithms };
    await pool.run(task).outcome; // starts the thread and reads the file into the page cache
    return await measure(`worker pass: ${algorithms.join(' + ')}`, async () => {
      const o = await pool.run(task).outcome;
      if (!o.ok) throw new Error(o.error.message);
    });
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function row(f: Figure): string[] {
  return [f.label, fixed(f.bytes / 1e6 / f.wallS, 0), fixed(f.cpuS / (f.bytes / GIB), 2)];
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`Whole-file hashes: ${total / MIB} MiB per line, ${os.availableParallelism()} cores (${cpu}), Node ${process.version}\n\n`);
  const alone: Figure[] = [];
  for (const a of FILE_HASH_ALGORITHMS) alone.push(await inMemory([a]));
  const combos = [await inMemory(['xxh64', 'md5']), await inMemory(['xxh64', 'xxh128', 'md5', 'sha1']), await inMemory(FILE_HASH_ALGORITHMS)];
  const alternatives = [await wasmAlternative('md5 (hash-wasm, not used)', createMD5), await wasmAlternative('sha1 (hash-wasm, not used)', createSHA1), await wasmAlternative('sha256 (hash-wasm, not used)', createSHA256)];
  const passes = [await workerPass(['xxh64']), await workerPass(['xxh64', 'md5'])];
  const header = ['hash', 'MB/s', 'CPU s per GiB'];
  process.stdout.write(table(header, [...alone, ...combos].map(row)) + '\n\n');
  process.stdout.write(table(header, alternatives.map(row)) + '\n\n');
  process.stdout.write(table(header, passes.map(row)) + '\n');
}

await main();
