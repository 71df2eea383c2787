// What the benchmarks set up: a random test file that never sits in memory, and the sink in its own process.
import { fork, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import { MiB } from './process-stats.js';

/** Random bytes written in 8 MiB slices, so the file never sits in memory. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const slice = Buffer.allocUnsafe(8 * MiB);
  const fh = await fs.promises.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(slice.length, size - written);
      randomFillSync(slice, 0, n);
      await fh.write(slice, 0, n);
      written += n;
    }
  } finally {
    await fh.close();
  }
}

/** The sink in a child process; `execArgv` for node options such as --cpu-prof, `file` another build's sink (bench/sink-cost.ts). */
export async function startSinkProcess(execArgv: string[] = [], file: string | URL = new URL('./s3-sink.js', import.meta.url)): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the sink exited early (code ${code})`)));
  });
  return { child, url };
}

