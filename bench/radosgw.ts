// The local radosgw started by scripts/radosgw: its daemons' pids, and room left in its RAM-backed store.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { formatBytes } from '../src-main/engine/upload/part-plan.js';

const run = promisify(execFile);

/** Past Ceph's nearfull ratio (0.85) the bench does not write: at full (0.95) radosgw stops reading request bodies. */
const USABLE_RATIO = 0.85;
const HEADROOM_BYTES = 256 * 1024 * 1024;
const POLL_MS = 5_000;
/** GC there waits 60 s and runs every 60 s (scripts/radosgw); five minutes leaves margin. */
const RECLAIM_TIMEOUT_MS = 5 * 60_000;

function dataDir(env: NodeJS.ProcessEnv): string | null {
  return env.RADOSGW_DATA_DIR || null;
}

/** The pids of radosgw and the Ceph daemons behind it, from the pid files scripts/radosgw writes. */
export function radosgwPids(env: NodeJS.ProcessEnv = process.env): number[] {
  const dir = dataDir(env);
  if (!dir) return [];
  const pids: number[] = [];
  for (const name of ['client.rgw.gw', 'osd.0', 'mon.a']) {
    try {
      const pid = Number(fs.readFileSync(path.join(dir, 'run', `${name}.pid`), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && fs.existsSync(`/proc/${pid}`)) pids.push(pid);
    } catch {
      // that daemon is not running
    }
  }
  return pids;
}

/** Size and use of the memstore OSD, read from its admin socket; null when that is not possible. */
async function osdSpace(env: NodeJS.ProcessEnv): Promise<{ total: number; used: number } | null> {
  const dir = dataDir(env);
  if (!dir) return null;
  try {
    const { stdout } = await run('ceph', ['--admin-daemon', path.join(dir, 'run', 'osd.0.asok'), 'perf', 'dump'], { timeout: 20_000 });
    const osd = (JSON.parse(stdout) as { osd?: { stat_bytes?: number; stat_bytes_used?: number } }).osd;
    if (!osd?.stat_bytes || osd.stat_bytes_used === undefined) return null;
    return { total: osd.stat_bytes, used: osd.stat_bytes_used };
  } catch {
    return null;
  }
}

/**
 * Waits until the memstore has room for `bytes` more. Deleted objects are only reclaimed by radosgw's
 * garbage collector a minute or two later, so back-to-back uploads can otherwise fill the store.
 */
export async function waitForRoom(bytes: number, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const deadline = Date.now() + RECLAIM_TIMEOUT_MS;
  let said = false;
  for (;;) {
    const space = await osdSpace(env);
    if (!space) return; // not our local radosgw: nothing to watch
    const room = space.total * USABLE_RATIO - space.used;
    const needed = bytes + HEADROOM_BYTES;
    if (needed > space.total * USABLE_RATIO) {
      throw new Error(`${formatBytes(bytes)} does not fit in the radosgw memstore (${formatBytes(space.total)}); use a smaller --size or --target sink`);
    }
    if (room >= needed) return;
    if (Date.now() > deadline) throw new Error(`radosgw did not reclaim space in time: ${formatBytes(room)} free, ${formatBytes(needed)} needed`);
    if (!said) log(`bench: waiting for radosgw to reclaim deleted objects (${formatBytes(Math.max(0, room))} free, ${formatBytes(needed)} needed)`);
    said = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
