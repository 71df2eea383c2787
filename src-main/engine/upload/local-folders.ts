// Which folders are on a local disk, for a part worker deciding whether a small file's calls may be
// made on its own thread (part-worker.ts `directCalls`). A call on a network file system can take as
// long as the network, or hang for as long as the server is gone (NFS hard mounts, SMB shares, FUSE
// file systems such as sshfs or rclone mount): made on the worker's thread it would stall every
// request that thread is sending. Through the threadpool it stalls a pool thread instead (four per
// process), which is why those stay there. Told apart by the file system's type (statfs(2) f_type):
// only the types listed below count as local; any other, and every folder on a system where the type
// says nothing stable (macOS, Windows), is treated as remote.
import fs from 'node:fs';
import path from 'node:path';

/** Linux statfs f_type magic numbers (linux/magic.h) of disk and memory file systems. */
const LOCAL_TYPES = new Set<number>([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x794c7630, // overlayfs (containers: its layers are local)
  0x2011bab0, // exfat (camera cards)
  0x4d44, // vfat / msdos
  0x5346544e, // ntfs
  0x7366746e, // ntfs3
  0x3153464a, // jfs
  0x52654973, // reiserfs
  0x9660, // iso9660
  0x15013346, // udf
]);

/** How long a folder's answer is kept: a share mounted over a folder while files go is seen within this. */
const KEEP_MS = 30_000;

export type StatFs = (dir: string) => Promise<{ type: number }>;

export class LocalFolders {
  private readonly known = new Map<string, { local: boolean; at: number }>();
  private readonly asking = new Set<string>();

  constructor(
    private readonly statfs: StatFs = (dir) => fs.promises.statfs(dir),
    private readonly platform: NodeJS.Platform = process.platform,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * True only when the file's folder is known to be on a local disk. Unknown (first file of a folder,
   * or an answer older than KEEP_MS) is false, and the folder's file system is looked up meanwhile
   * (through the threadpool), so the next file of it knows: no file waits for the look.
   */
  isLocal(file: string): boolean {
    if (this.platform !== 'linux') return false;
    const dir = path.dirname(file);
    const k = this.known.get(dir);
    if (k && this.now() - k.at < KEEP_MS) return k.local;
    this.lookUp(dir);
    return false;
  }

  private lookUp(dir: string): void {
    if (this.asking.has(dir)) return;
    this.asking.add(dir);
    // A failure (folder gone, no permission) says nothing local: remote, asked again after KEEP_MS.
    this.statfs(dir)
      .then(
        (s) => LOCAL_TYPES.has(s.type),
        () => false,
      )
      .then((local) => {
        if (this.known.size >= MAX_FOLDERS) this.known.clear();
        this.known.set(dir, { local, at: this.now() });
        this.asking.delete(dir);
      });
  }
}

/** Folders remembered at most (a thread sending files from many folders forgets and asks again). */
const MAX_FOLDERS = 1024;
