// What kind of volume a watched folder is on, as far as watching goes: a network share (whose
// changes made by other machines raise no events, on any system) or a local disk. Each system says
// it its own way: Linux in statfs's type, macOS in the mount table, Windows in the path (UNC) or in
// the drive letters mapped to shares (`net use`). The parsers are pure, so they are tested anywhere.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Linux statfs magic numbers of file systems whose changes made elsewhere raise no inotify events. */
export const LINUX_NETWORK_FS_TYPES: ReadonlySet<number> = new Set([
  0x6969 /* NFS */, 0x517b /* SMB */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */, 0x01021997 /* 9p */, 0x00c36400 /* Ceph */, 0x65735546 /* FUSE: sshfs, rclone mount */,
]);

/** macOS mount-table file-system names of network shares (and FUSE mounts such as sshfs or rclone). */
export const MAC_NETWORK_FS_NAMES: ReadonlySet<string> = new Set(['smbfs', 'nfs', 'afpfs', 'webdav', 'cifs', 'ftp', 'macfuse', 'osxfuse', 'osxfusefs', 'fusefs', 'nfs4']);

/** What is known about the volume under a folder. */
export interface VolumeFacts {
  /** Linux: statfs's type (a magic number). */
  fsType?: number | null;
  /** macOS: the file-system name of the mount the folder is on (`apfs`, `smbfs`, …). */
  fsName?: string | null;
  /** Windows: a UNC path, or a drive letter mapped to a share. */
  remotePath?: boolean;
}

/** True when the facts say network share on this platform. */
export function isNetworkVolume(platform: NodeJS.Platform, v: VolumeFacts): boolean {
  if (platform === 'linux') return v.fsType != null && LINUX_NETWORK_FS_TYPES.has(v.fsType);
  if (platform === 'darwin') return v.fsName != null && MAC_NETWORK_FS_NAMES.has(v.fsName.toLowerCase());
  if (platform === 'win32') return v.remotePath === true;
  return false;
}

/**
 * The file-system name of the mount holding `dir`, from macOS `mount` output
 * (`//user@nas/share on /Volumes/share (smbfs, nodev, nosuid, mounted by ed)`): the longest mount point above it.
 */
export function macMountType(mountOutput: string, dir: string): string | null {
  let best: { point: string; type: string } | null = null;
  for (const line of mountOutput.split('\n')) {
    const m = / on (.+) \(([^,)]+)/.exec(line);
    if (!m) continue;
    const point = m[1]!;
    const under = point === '/' || dir === point || dir.startsWith(point.endsWith('/') ? point : point + '/');
    if (under && (!best || point.length > best.point.length)) best = { point, type: m[2]!.trim() };
  }
  return best?.type ?? null;
}

/** A Windows UNC path (`\\server\share\…`, `\\?\UNC\server\…`, or with forward slashes). */
export function isUncPath(p: string): boolean {
  return /^[\\/]{2}(\?[\\/]UNC[\\/])?[^\\/?.]/i.test(p) && !/^[\\/]{2}[?.][\\/][A-Z]:/i.test(p);
}

/** The drive letters mapped to shares, from Windows `net use` output (`OK   Z:   \\nas\media   Microsoft Windows Network`). */
export function mappedDrives(netUseOutput: string): Set<string> {
  const out = new Set<string>();
  for (const m of netUseOutput.matchAll(/(?:^|\s)([A-Za-z]):\s+\\\\\S/gm)) out.add(m[1]!.toUpperCase());
  return out;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000, windowsHide: true }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

/** Looks at the volume under `dir` on this system; what cannot be learned is left out (treated as local). */
export async function volumeFacts(dir: string, platform: NodeJS.Platform = process.platform): Promise<VolumeFacts> {
  try {
    if (platform === 'linux') return { fsType: Number((await fs.promises.statfs(dir)).type) };
    if (platform === 'darwin') return { fsName: macMountType(await run('/sbin/mount', []), await fs.promises.realpath(dir)) };
    if (platform === 'win32') {
      const resolved = path.win32.resolve(dir);
      if (isUncPath(resolved)) return { remotePath: true };
      const drive = /^([A-Za-z]):/.exec(resolved)?.[1]?.toUpperCase();
      return { remotePath: drive !== undefined && mappedDrives(await run('net', ['use'])).has(drive) };
    }
  } catch {
    // Not there (an unmounted card) or not allowed to look: the folder is watched as local.
  }
  return {};
}
