// How a watched folder learns that files changed, chosen per platform and per volume. The choice
// only decides how soon a file is looked at: whether it is finished is always decided by the
// stability tracker's own looks (stability.ts), and the start-up scan finds what arrived meanwhile.
//
// - `poll`: a scan on a timer. Network shares (SMB, NFS, AFP, WebDAV, 9p, Ceph, FUSE) report no
//   change made by another machine on any system, so they are polled everywhere; so is every
//   folder with `--poll`.
// - `tree`: one fs.watch per directory (tree-watcher.ts). Linux: inotify watches directories, not
//   trees, and Node 20's `recursive: true` there is JavaScript (lib/internal/fs/recursive_watch.js)
//   that walks the tree synchronously at start, stat-ing and watching every file and folder on its
//   own (an inotify watch per file) and reporting every existing entry as an event; and it stops
//   walking at the first entry it cannot stat (a symlink loop), leaving the rest unwatched. Measured
//   in docs/watch.md.
// - `recursive`: one native recursive fs.watch for the tree (native-watcher.ts). macOS: FSEvents
//   watches a tree in one stream, and libuv's per-directory watch adds each directory to one shared
//   FSEvents stream that it stops and re-creates with every path at each addition (quadratic in the
//   number of folders). Windows: ReadDirectoryChangesW watches a subtree with one handle, while a
//   handle per directory keeps every folder of the tree open, which can keep a user from renaming
//   or deleting folders in it.
// - Other systems (the BSDs, AIX): `tree`, since Node has no recursive watch there.
import { isNetworkVolume, type VolumeFacts } from './network-share.js';

export type WatchStrategy = 'tree' | 'recursive' | 'poll';

export interface StrategyInput {
  platform: NodeJS.Platform;
  volume: VolumeFacts;
  /** `--poll`: every folder is scanned on a timer. */
  forcePoll?: boolean;
}

export interface StrategyChoice {
  strategy: WatchStrategy;
  /** Said to the user when a folder is polled; for the log otherwise. */
  why: string;
}

export function chooseWatchStrategy(i: StrategyInput): StrategyChoice {
  if (i.forcePoll) return { strategy: 'poll', why: '--poll' };
  if (isNetworkVolume(i.platform, i.volume)) return { strategy: 'poll', why: 'a network share sends no change events for changes made by other machines' };
  if (i.platform === 'darwin') return { strategy: 'recursive', why: 'macOS watches a whole tree natively (FSEvents)' };
  if (i.platform === 'win32') return { strategy: 'recursive', why: 'Windows watches a whole tree natively (ReadDirectoryChangesW)' };
  if (i.platform === 'linux') return { strategy: 'tree', why: 'inotify watches directories; one watch per directory is cheaper than Node\'s recursive mode there (measured)' };
  return { strategy: 'tree', why: 'no native recursive watching on this system' };
}
