// Which folders a part worker treats as on a local disk (upload/local-folders.ts): a small file there
// is read by calls on the worker's own thread; anywhere else (a network share, FUSE, an unknown type,
// a system whose statfs type says nothing stable) through the threadpool, as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalFolders } from '../../src-main/engine/upload/local-folders.js';

const EXT4 = 0xef53;
const NFS = 0x6969;
const SMB2 = 0xfe534d42;
const FUSE = 0x65735546;

/** A statfs that answers from `types` by folder and counts its calls; settles on the next turn, as the real one would. */
function fakeStatFs(types: Record<string, number | Error>) {
  const calls: string[] = [];
  const statfs = async (dir: string) => {
    calls.push(dir);
    await new Promise((r) => setImmediate(r));
    const t = types[dir];
    if (t instanceof Error || t === undefined) throw t ?? new Error('ENOENT');
    return { type: t };
  };
  return { statfs, calls };
}

const settle = () => new Promise((r) => setImmediate(() => setImmediate(r)));

test('a folder on a local disk is known after its first file: that file goes the old way, the next ones on this thread', async () => {
  const { statfs, calls } = fakeStatFs({ '/media/card/DCIM': EXT4 });
  const folders = new LocalFolders(statfs, 'linux');
  assert.equal(folders.isLocal('/media/card/DCIM/A001.jpg'), false, 'not known yet: the threadpool, and the file does not wait for the look');
  assert.equal(folders.isLocal('/media/card/DCIM/A002.jpg'), false, 'still being looked at');
  await settle();
  assert.equal(folders.isLocal('/media/card/DCIM/A003.jpg'), true);
  assert.equal(folders.isLocal('/media/card/DCIM/A004.jpg'), true);
  assert.deepEqual(calls, ['/media/card/DCIM'], 'one look per folder');
});

test('network and FUSE file systems, unknown types and folders that cannot be looked at stay on the threadpool', async () => {
  const { statfs } = fakeStatFs({ '/mnt/nfs': NFS, '/mnt/smb': SMB2, '/mnt/sshfs': FUSE, '/mnt/odd': 0x12345678, '/gone': new Error('ENOENT') });
  const folders = new LocalFolders(statfs, 'linux');
  const files = ['/mnt/nfs/f.dpx', '/mnt/smb/f.dpx', '/mnt/sshfs/f.dpx', '/mnt/odd/f.dpx', '/gone/f.dpx'];
  for (const f of files) folders.isLocal(f);
  await settle();
  for (const f of files) assert.equal(folders.isLocal(f), false, f);
});

test('off Linux no folder counts as local (the statfs type is not a stable name there) and none is looked at', async () => {
  const { statfs, calls } = fakeStatFs({ '/Volumes/card': EXT4 });
  for (const platform of ['darwin', 'win32'] as const) {
    const folders = new LocalFolders(statfs, platform);
    folders.isLocal('/Volumes/card/A001.jpg');
    await settle();
    assert.equal(folders.isLocal('/Volumes/card/A002.jpg'), false, platform);
  }
  assert.deepEqual(calls, []);
});

test("a folder's answer is asked again after a while: a share mounted over a local folder meanwhile is seen", async () => {
  const types: Record<string, number> = { '/srv/renders': EXT4 };
  const { statfs, calls } = fakeStatFs(types);
  let now = 1_000_000;
  const folders = new LocalFolders(statfs, 'linux', () => now);
  folders.isLocal('/srv/renders/a.exr');
  await settle();
  assert.equal(folders.isLocal('/srv/renders/b.exr'), true);
  types['/srv/renders'] = NFS;
  now += 60_000;
  assert.equal(folders.isLocal('/srv/renders/c.exr'), false, 'an old answer is not trusted: the threadpool until looked at again');
  await settle();
  assert.equal(folders.isLocal('/srv/renders/d.exr'), false, 'now on a network file system');
  assert.equal(calls.length, 2);
});
