// The `--mode fake` build's local files (issue 14): a home folder and a camera card to browse, and
// sends that become queued jobs of the simulated queue. Never in the production build.
import type { HoistApi } from '../../shared/contract.js';
import type { DirectoryEntry, DirectoryListing, SendDefaults, SendFilesInput } from '../../shared/local-files.js';
import { SEND_PREVIEW_FILES } from '../../shared/local-files.js';
import type { Destination } from '../../shared/types.js';

const GiB = 1024 ** 3;
const ROOTS = ['/Users/ana', '/Volumes/A002R2EC'];
const DAY = 86_400_000;

/** Folder path → its entries (folders end in '/'), and file sizes. */
const TREE: Record<string, Array<[string, number]>> = {
  '/Users/ana': [['Desktop/', 0], ['Renders/', 0], ['Selects/', 0], ['notes.txt', 2_310]],
  '/Users/ana/Renders': [['reel3_v12_ProRes4444XQ.mov', 1.38 * 1024 * GiB], ['reel3_v11_ProRes4444XQ.mov', 1.36 * 1024 * GiB], ['trailer_v4.mov', 48 * GiB]],
  '/Users/ana/Selects': [['A002_C004_0925XY.mov', 38 * GiB], ['A002_C009_0925XY.mov', 41 * GiB]],
  '/Users/ana/Desktop': [],
  '/Volumes/A002R2EC': [['CLIPS/', 0], ['ascmhl/', 0]],
  '/Volumes/A002R2EC/CLIPS': Array.from({ length: 14 }, (_, i) => [`A002_C${String(i + 1).padStart(3, '0')}_0925XY.mov`, (30 + ((i * 7) % 19)) * GiB] as [string, number]),
  '/Volumes/A002R2EC/ascmhl': [['0001_A002R2EC_2026-09-25_081233Z.mhl', 48_201], ['ascmhl_chain.xml', 611]],
};

function entriesOf(dir: string): DirectoryEntry[] {
  return (TREE[dir] ?? []).map(([name, size], i) => {
    const folder = name.endsWith('/');
    const clean = folder ? name.slice(0, -1) : name;
    return { name: clean, path: `${dir}/${clean}`, kind: folder ? 'folder' : 'file', size: folder ? null : size, modifiedAt: Date.now() - (i + 1) * DAY * 0.7 };
  });
}

/** Every file under a path, with its path relative to what was given. */
function filesUnder(p: string): Array<{ path: string; rel: string; size: number }> {
  if (!(p in TREE)) {
    const dir = p.slice(0, p.lastIndexOf('/'));
    const entry = entriesOf(dir).find((e) => e.path === p);
    return entry ? [{ path: p, rel: entry.name, size: entry.size ?? 0 }] : [];
  }
  return entriesOf(p).flatMap((e) => (e.kind === 'folder' ? filesUnder(e.path).map((f) => ({ ...f, rel: `${e.name}/${f.rel}` })) : [{ path: e.path, rel: e.name, size: e.size ?? 0 }]));
}

type FakeSend = Pick<HoistApi, 'listDirectory' | 'previewSend' | 'sendFiles' | 'sendDefaults'>;

export function fakeLocalFiles(destinations: Destination[], queue: (file: { path: string; key: string; size: number }, input: SendFilesInput) => number): FakeSend {
  const remembered: SendDefaults[] = [{ destinationId: 1, prefix: 'shoot-0925/day02/', priority: 'high', hashes: ['xxh64', 'md5'], mhl: true, ifExists: null, usedAt: Date.now() - DAY }];
  const plan = (input: SendFilesInput) => {
    const dest = destinations.find((d) => d.id === input.destinationId)!;
    const prefix = [dest.prefix, input.prefix].filter(Boolean).map((s) => s.replace(/\/+$/, '')).join('/');
    return input.paths.flatMap((p) => {
      const isFolder = p in TREE;
      return filesUnder(p).map((f) => ({ ...f, key: `${prefix ? prefix + '/' : ''}${isFolder ? f.rel : f.rel.split('/').pop()}`, bucket: dest.bucket }));
    });
  };
  return {
    async listDirectory(path): Promise<DirectoryListing> {
      if (path === null) return { path: null, crumbs: [], parent: null, roots: ROOTS, entries: ROOTS.map((r) => ({ name: r, path: r, kind: 'folder', size: null, modifiedAt: Date.now() - DAY })), truncated: false };
      const root = ROOTS.find((r) => path === r || path.startsWith(r + '/'));
      if (!root || !(path in TREE)) throw { code: 'source.outside-roots', message: `${path} is outside the folders this Hoist may read files from (${ROOTS.join(', ')}).`, operation: 'listDirectory' };
      const below = path.slice(root.length).split('/').filter(Boolean);
      const crumbs = [{ name: root, path: root }, ...below.map((name, i) => ({ name, path: [root, ...below.slice(0, i + 1)].join('/') }))];
      return { path, crumbs, parent: path === root ? null : path.slice(0, path.lastIndexOf('/')), roots: ROOTS, entries: entriesOf(path), truncated: false };
    },
    async previewSend(input) {
      const files = plan(input);
      return { files: files.length, bytes: files.reduce((s, f) => s + f.size, 0), bucket: files[0]?.bucket ?? '', first: files.slice(0, SEND_PREVIEW_FILES).map((f) => ({ path: f.path, key: f.key })) };
    },
    async sendFiles(input) {
      const files = plan(input);
      const jobIds = files.map((f) => queue(f, input));
      remembered.splice(0, remembered.length, { ...input, ifExists: input.ifExists ?? null, usedAt: Date.now() }, ...remembered.filter((r) => r.destinationId !== input.destinationId));
      return { jobIds, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) };
    },
    async sendDefaults() {
      return remembered.map((r) => ({ ...r }));
    },
  };
}
