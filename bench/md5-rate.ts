// How fast this machine hashes MD5 on one core: the yardstick for what Content-MD5 costs a client.
import { randomBytes, createHash } from 'node:crypto';
import { MiB } from './process-stats.js';
import { median } from './report.js';

export const MD5_BUFFER_BYTES = 256 * MiB;

/** MD5 speed of node:crypto over a buffer in memory, fed in 1 MiB chunks as Hoist's workers read them. */
export function md5ThroughputMBps(): { best: number; median: number } {
  const data = randomBytes(MD5_BUFFER_BYTES);
  const speeds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const md5 = createHash('md5');
    for (let at = 0; at < data.length; at += MiB) md5.update(data.subarray(at, at + MiB));
    md5.digest();
    speeds.push(data.length / 1e6 / ((performance.now() - t0) / 1000));
  }
  return { best: Math.max(...speeds), median: median(speeds) };
}

