// The CPU a part's second read costs (issue 12, "each byte read once"), measured alone: the part
// worker's own path (upload/held-part.ts, upload/file-range.ts) over a file in the page cache, each
// part checksummed (CRC32C, or MD5 with --md5) and then written to a loopback socket whose reader is
// another process, so that only the sender's work is counted. Two ways, alternated every round:
//   reread  the checksum pass, then the body reads the part again (before issue 12's change);
//   held    the checksum pass keeps the chunks and the body is sent from them.
// CPU = process.cpuUsage() of this process (libuv's file reads included), per GiB; medians.
// Usage: node build/bench/read-once-bench.js [--size 1GiB] [--part 64MiB] [--rounds 7] [--md5] [--cold]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PartHasher } from '../src-main/engine/upload/checksums.js';
import { CHUNK_SIZE, ChunkPool, FileRangeBody } from '../src-main/engine/upload/file-range.js';
import { PartMemory, readAndHold } from '../src-main/engine/upload/held-part.js';
import { formatBytes, parseSize } from '../src-main/engine/upload/part-plan.js';
import { GiB } from './process-stats.js';
import { fixed, table } from './report.js';

const WAYS = ['reread', 'held'] as const;
type Way = (typeof WAYS)[number];

/** A loopback receiver in its own process that reads and drops every byte. */
async function startReceiver(): Promise<{ port: number; stop: () => void }> {
  const code = "const s=require('net').createServer(c=>c.resume());s.listen(0,'127.0.0.1',()=>process.send(s.address().port))";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
  return { port, stop: () => child.kill() };
}

async function sendPart(port: number, fd: fs.promises.FileHandle, offset: number, length: number, pool: ChunkPool, memory: PartMemory | null, md5: boolean): Promise<void> {
  const hasher = new PartHasher('crc32c', { md5 });
  const held = await readAndHold(fd, offset, length, pool, memory, (c) => hasher.update(c));
  hasher.digest();
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const body = new FileRangeBody(fd, offset, length, pool, { onBytes: () => undefined, held });
  body.pipe(socket);
  await new Promise<void>((resolve, reject) => socket.once('finish', resolve).once('error', reject));
  held.dispose();
  socket.destroy();
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '1GiB' }, part: { type: 'string', default: '64MiB' }, rounds: { type: 'string', default: '7' }, md5: { type: 'boolean', default: false }, cold: { type: 'boolean', default: false } }, strict: true });
  const size = parseSize(values.size);
  const part = parseSize(values.part);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-read-once-'));
  const file = path.join(dir, 'A001_C003.mov');
  const receiver = await startReceiver();
  try {
    const out = fs.openSync(file, 'w');
    for (let at = 0; at < size; at += 16 * CHUNK_SIZE) fs.writeSync(out, randomBytes(Math.min(16 * CHUNK_SIZE, size - at)));
    fs.fsyncSync(out);
    fs.closeSync(out);
    const fd = await fs.promises.open(file, 'r');
    const pool = new ChunkPool(32 + part / CHUNK_SIZE);
    const cpu: Record<Way, number[]> = { reread: [], held: [] };
    const wall: Record<Way, number[]> = { reread: [], held: [] };
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const way of r % 2 === 0 ? WAYS : [...WAYS].reverse()) {
        if (values.cold) execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
        const memory = way === 'held' ? new PartMemory(pool, Math.ceil(part / CHUNK_SIZE)) : null;
        const t0 = process.hrtime.bigint();
        const c0 = process.cpuUsage();
        for (let offset = 0; offset < size; offset += part) await sendPart(receiver.port, fd, offset, Math.min(part, size - offset), pool, memory, values.md5);
        const c = process.cpuUsage(c0);
        cpu[way].push((c.user + c.system) / 1e6 / (size / GiB));
        wall[way].push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    }
    await fd.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`${formatBytes(size)} in ${formatBytes(part)} parts, ${values.md5 ? 'MD5 + CRC32C' : 'CRC32C'}, ${values.rounds} rounds alternated, ${values.cold ? 'evicted before each run' : 'in the page cache'}; load average ${os.loadavg()[0]!.toFixed(1)}`);
    console.log(table(['way', 'CPU s/GiB (median)', 'each round', 'MB/s (median)'], WAYS.map((w) => [w, fixed(median(cpu[w]), 3), cpu[w].map((x) => fixed(x, 2)).join(' '), fixed(size / 1e6 / median(wall[w]), 0)])));
    return 0;
  } finally {
    receiver.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) process.exitCode = await main(process.argv.slice(2));
