// The folder watcher's event source: one watch per directory (never per file), events for files in
// any of them, directories that appear, are moved in, or go away, and folders left out not watched.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { TreeWatcher } from '../../src-main/engine/folders/tree-watcher.js';
import { until } from '../support/engine.js';
import { tempDir } from '../support/s3.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tree(): string {
  const root = tempDir('tree-watcher');
  dirs.push(root);
  for (const d of ['card1/CLIP', 'card2/CLIP', 'proxies']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(root, 'card1/CLIP', `A001C${String(i).padStart(3, '0')}.mov`), 'x');
  return root;
}

function record(w: TreeWatcher): Array<[string, string]> {
  const seen: Array<[string, string]> = [];
  for (const kind of ['change', 'addDir', 'unlink', 'unlinkDir'] as const) w.on(kind, (p: string) => seen.push([kind, p]));
  return seen;
}

test('only directories are watched, and not the ones left out; files anywhere in the tree raise events', async () => {
  const root = tree();
  const w = new TreeWatcher(root, { wantsDir: (d) => path.basename(d) !== 'proxies' });
  const seen = record(w);
  try {
    await w.start();
    // root, card1, card1/CLIP, card2, card2/CLIP: never one per file, and not proxies.
    assert.equal(w.watchedDirs, 5);
    const clip = path.join(root, 'card2/CLIP/B001C001.mov');
    fs.writeFileSync(clip, 'new');
    await until('an event for the new file', () => seen.some(([k, p]) => k === 'change' && p === clip));
    fs.writeFileSync(path.join(root, 'proxies/p.mov'), 'x');
    fs.appendFileSync(clip, 'more');
    await until('the write after it', () => seen.filter(([k, p]) => k === 'change' && p === clip).length >= 2);
    assert.ok(!seen.some(([, p]) => p.includes('proxies')), 'nothing from the folder left out');
    fs.rmSync(clip);
    await until('its removal', () => seen.some(([k, p]) => k === 'unlink' && p === clip));
  } finally {
    w.close();
  }
});

test('a folder moved in is watched with its subfolders and announced; a folder removed is forgotten', async () => {
  const root = tree();
  const outside = tempDir('tree-watcher-outside');
  dirs.push(outside);
  fs.mkdirSync(path.join(outside, 'card3/CLIP'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'card3/CLIP/C001.mov'), 'x');
  const w = new TreeWatcher(root, { wantsDir: () => true });
  const seen = record(w);
  try {
    await w.start();
    const before = w.watchedDirs;
    const card3 = path.join(root, 'card3');
    fs.renameSync(path.join(outside, 'card3'), card3);
    await until('the moved-in folder announced', () => seen.some(([k, p]) => k === 'addDir' && p === card3));
    assert.equal(w.watchedDirs, before + 2, 'card3 and card3/CLIP are watched');
    const later = path.join(card3, 'CLIP/C002.mov');
    fs.writeFileSync(later, 'x');
    await until('a file written in the moved-in subfolder', () => seen.some(([k, p]) => k === 'change' && p === later));
    fs.rmSync(card3, { recursive: true });
    await until('the removed folder', () => seen.some(([k, p]) => k === 'unlinkDir' && p === card3));
    assert.equal(w.watchedDirs, before, 'its watches are gone');
  } finally {
    w.close();
  }
});
