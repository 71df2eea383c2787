// How each watched folder learns of changes, per platform and volume (folders/watch-strategy.ts), and
// the per-system network-share detection behind it (folders/network-share.ts). No S3 server needed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { NativeTreeWatcher } from '../../src-main/engine/folders/native-watcher.js';
import { isNetworkVolume, isUncPath, macMountType, mappedDrives, volumeFacts } from '../../src-main/engine/folders/network-share.js';
import { chooseWatchStrategy } from '../../src-main/engine/folders/watch-strategy.js';

const NFS = 0x6969;
const EXT4 = 0xef53;

test('local disks: the tree watcher on Linux, the native recursive watch on macOS and Windows', () => {
  assert.equal(chooseWatchStrategy({ platform: 'linux', volume: { fsType: EXT4 } }).strategy, 'tree');
  assert.equal(chooseWatchStrategy({ platform: 'darwin', volume: { fsName: 'apfs' } }).strategy, 'recursive');
  assert.equal(chooseWatchStrategy({ platform: 'darwin', volume: { fsName: 'exfat' } }).strategy, 'recursive');
  assert.equal(chooseWatchStrategy({ platform: 'win32', volume: { remotePath: false } }).strategy, 'recursive');
  assert.equal(chooseWatchStrategy({ platform: 'freebsd', volume: {} }).strategy, 'tree');
  // Nothing learned about the volume (an error looking): watched as local.
  assert.equal(chooseWatchStrategy({ platform: 'linux', volume: {} }).strategy, 'tree');
  assert.equal(chooseWatchStrategy({ platform: 'darwin', volume: {} }).strategy, 'recursive');
});

test('network shares are polled on every system, and --poll polls everything', () => {
  for (const fsType of [NFS, 0x517b, 0xff534d42, 0xfe534d42, 0x01021997, 0x00c36400, 0x65735546]) {
    assert.equal(chooseWatchStrategy({ platform: 'linux', volume: { fsType } }).strategy, 'poll', `statfs type 0x${fsType.toString(16)}`);
  }
  for (const fsName of ['smbfs', 'nfs', 'afpfs', 'webdav', 'macfuse', 'SMBFS']) {
    assert.equal(chooseWatchStrategy({ platform: 'darwin', volume: { fsName } }).strategy, 'poll', fsName);
  }
  assert.equal(chooseWatchStrategy({ platform: 'win32', volume: { remotePath: true } }).strategy, 'poll');
  for (const platform of ['linux', 'darwin', 'win32'] as const) {
    const choice = chooseWatchStrategy({ platform, volume: {}, forcePoll: true });
    assert.deepEqual(choice, { strategy: 'poll', why: '--poll' });
  }
  // A magic number means nothing on another system.
  assert.equal(isNetworkVolume('darwin', { fsType: NFS }), false);
});

test('macOS: the mount holding a folder, from the mount table', () => {
  const table = [
    '/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)',
    '/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse)',
    '//ed@nas.local/Media on /Volumes/Media (smbfs, nodev, nosuid, mounted by ed)',
    'nas:/export/cards on /Volumes/Media Cards (nfs, nodev, nosuid, mounted by ed)',
    '/dev/disk5s1 on /Volumes/CARD A (exfat, local, nodev, nosuid, noowners, mounted by ed)',
  ].join('\n');
  assert.equal(macMountType(table, '/Volumes/Media/Shoot 1/A001'), 'smbfs');
  assert.equal(macMountType(table, '/Volumes/Media'), 'smbfs');
  assert.equal(macMountType(table, '/Volumes/Media Cards/x'), 'nfs', 'the longest mount point wins, names with spaces too');
  assert.equal(macMountType(table, '/Volumes/CARD A/DCIM'), 'exfat');
  assert.equal(macMountType(table, '/Volumes/MediaX/y'), 'apfs', 'a prefix of a name is not the mount');
  assert.equal(macMountType(table, '/System/Volumes/Data/Users/ed/Offload'), 'apfs');
  assert.equal(macMountType('', '/x'), null);
});

test('Windows: UNC paths and drive letters mapped to shares', () => {
  assert.equal(isUncPath('\\\\nas\\media\\shoot'), true);
  assert.equal(isUncPath('//nas/media'), true);
  assert.equal(isUncPath('\\\\?\\UNC\\nas\\media'), true);
  assert.equal(isUncPath('\\\\?\\C:\\Offload'), false, 'a long local path');
  assert.equal(isUncPath('C:\\Offload'), false);
  const netUse = [
    'New connections will be remembered.',
    '',
    'Status       Local     Remote                    Network',
    '-------------------------------------------------------------------------------',
    'OK           Z:        \\\\nas\\media               Microsoft Windows Network',
    'Unavailable  Y:        \\\\old-nas\\archive         Microsoft Windows Network',
    'OK                     \\\\nas\\ipc$                Microsoft Windows Network',
    'The command completed successfully.',
  ].join('\r\n');
  assert.deepEqual([...mappedDrives(netUse)].sort(), ['Y', 'Z']);
  assert.deepEqual([...mappedDrives('There are no entries in the list.')], []);
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('this machine: a local temporary folder is not a network share', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-strategy-'));
  dirs.push(dir);
  const facts = await volumeFacts(dir);
  assert.equal(isNetworkVolume(process.platform, facts), false);
  assert.deepEqual(await volumeFacts(path.join(dir, 'not-there')), {}, 'a folder that is not there is watched as local once back');
});

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the native recursive watcher: files anywhere in the tree, removals, folders left out dropped', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-native-'));
  dirs.push(root);
  for (const d of ['card1/CLIP', 'proxies']) fs.mkdirSync(path.join(root, d), { recursive: true });
  const w = new NativeTreeWatcher(root, { wantsDir: (d) => path.basename(d) !== 'proxies' });
  const seen: Array<[string, string]> = [];
  for (const kind of ['change', 'addDir', 'unlink', 'unlinkDir'] as const) w.on(kind, (p: string) => seen.push([kind, p]));
  try {
    await w.start();
    assert.equal(w.watchedDirs, 1, 'one watch for the whole tree');
    const clip = path.join(root, 'card1/CLIP/A001C001.mov');
    fs.writeFileSync(clip, 'new');
    await until('an event for the new file', () => seen.some(([k, p]) => k === 'change' && p === clip));
    fs.writeFileSync(path.join(root, 'proxies/p.mov'), 'x');
    fs.mkdirSync(path.join(root, 'card2'));
    await until('the new folder', () => seen.some(([k, p]) => k === 'addDir' && p === path.join(root, 'card2')));
    assert.ok(!seen.some(([, p]) => p.includes('proxies' + path.sep)), 'nothing from inside the folder left out');
    fs.rmSync(clip);
    await until('its removal', () => seen.some(([k, p]) => k === 'unlink' && p === clip));
  } finally {
    w.close();
  }
});

test('the native recursive watcher follows a symlinked folder it is told of, under its path in the tree', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-native-link-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-native-target-'));
  dirs.push(root, outside);
  const link = path.join(root, 'card');
  fs.symlinkSync(outside, link);
  const w = new NativeTreeWatcher(root, { wantsDir: () => true });
  const seen: Array<[string, string]> = [];
  for (const kind of ['change', 'addDir', 'unlink', 'unlinkDir'] as const) w.on(kind, (p: string) => seen.push([kind, p]));
  try {
    await w.start();
    w.follow(link);
    w.follow(link);
    assert.equal(w.watchedDirs, 2, 'the tree, and the linked folder once');
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(path.join(outside, 'C001.mov'), 'x');
    await until('the file written through the link', () => seen.some(([k, p]) => k === 'change' && p === path.join(link, 'C001.mov')));
  } finally {
    w.close();
  }
});
