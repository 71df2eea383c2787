// The roots a host may list and send files from (issue 14): a path is admitted only when, every
// symlink resolved, it lies under a root; `..` and relative paths are refused before the file
// system is asked; what lies outside cannot even be probed for existence. Real folders and
// symlinks in a temporary directory, no server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { HoistError, type ErrorCode } from '../../shared/errors.js';
import { listDirectory } from '../../src-main/engine/sources/browse.js';
import { SourceRoots, checkPathShape, checkRoots, isInside } from '../../src-main/engine/sources/roots.js';

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-roots-')));
after(() => fs.rmSync(base, { recursive: true, force: true }));

const root = path.join(base, 'root');
const outside = path.join(base, 'outside');
fs.mkdirSync(path.join(root, 'Day01', 'CLIPS'), { recursive: true });
fs.mkdirSync(outside);
fs.writeFileSync(path.join(root, 'Day01', 'CLIPS', 'A001.mov'), 'clip');
fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
// Inside the root, leading out of it: a folder link, a file link, and one deeper.
fs.symlinkSync(outside, path.join(root, 'escape'));
fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'Day01', 'secret-link.txt'));
// Inside the root, leading elsewhere inside it: allowed.
fs.symlinkSync(path.join(root, 'Day01', 'CLIPS'), path.join(root, 'clips-link'));
// A root reached through a symlink is the same root.
fs.symlinkSync(root, path.join(base, 'root-link'));
// A sibling whose name begins like the root's: not under it.
fs.mkdirSync(path.join(base, 'root-other'));

const roots = new SourceRoots([root]);

async function refusal(p: string, r = roots): Promise<{ code: ErrorCode; message: string }> {
  try {
    await r.admit(p);
  } catch (err) {
    assert.ok(err instanceof HoistError, `threw ${String(err)}`);
    return { code: err.code, message: err.message };
  }
  assert.fail(`${p} was admitted`);
}

test('isInside: the root itself and what lies under it, not a sibling that shares its name\'s start nor a parent', () => {
  assert.equal(isInside('/home/ana', '/home/ana'), true);
  assert.equal(isInside('/home/ana', '/home/ana/Renders/a.mov'), true);
  assert.equal(isInside('/home/ana', '/home/anabel/a.mov'), false);
  assert.equal(isInside('/home/ana', '/home'), false);
  assert.equal(isInside('/home/ana', '/etc/passwd'), false);
  assert.equal(isInside('/home/ana', '/home/ana/..foo'), true, 'a name that starts with two dots is a name');
});

test('checkPathShape refuses relative paths, NUL and . or .. segments before any file system access', () => {
  for (const bad of ['Renders', './a', '', '/home/ana/../../etc/passwd', '/home/ana/./a.mov', '/home/ana/..', '/home/ana/a\0b']) {
    assert.throws(() => checkPathShape(bad), (err: unknown) => err instanceof HoistError && err.code === 'config.invalid', JSON.stringify(bad));
  }
  checkPathShape('/home/ana/..foo/a.mov');
});

test('a file or folder under the root is admitted as its real path; one reached through a link inside the root too', async () => {
  assert.equal(await roots.admit(path.join(root, 'Day01', 'CLIPS', 'A001.mov')), path.join(root, 'Day01', 'CLIPS', 'A001.mov'));
  assert.equal(await roots.admit(root), root);
  assert.equal(await roots.admit(path.join(root, 'clips-link', 'A001.mov')), path.join(root, 'Day01', 'CLIPS', 'A001.mov'));
  assert.equal(await roots.admit(path.join(base, 'root-link', 'Day01')), path.join(root, 'Day01'), 'a symlink to the root is inside it');
  assert.equal(await new SourceRoots([path.join(base, 'root-link')]).admit(path.join(root, 'Day01')), path.join(root, 'Day01'), 'a root given through a symlink is resolved too');
});

test('outside the root: refused with source.outside-roots naming the path and the roots', async () => {
  for (const p of [outside, path.join(outside, 'secret.txt'), '/etc/passwd', base, path.join(base, 'root-other')]) {
    const r = await refusal(p);
    assert.equal(r.code, 'source.outside-roots', p);
    assert.match(r.message, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is outside the folders this Hoist may read files from \\(${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
  }
});

test('a symlink inside the root that leads outside, or a path under one, is refused and said to be a link', async () => {
  for (const p of [path.join(root, 'escape'), path.join(root, 'escape', 'secret.txt'), path.join(root, 'Day01', 'secret-link.txt')]) {
    const r = await refusal(p);
    assert.equal(r.code, 'source.outside-roots', p);
    assert.match(r.message, /is a symlink \(or lies under one\) that leads outside the folders this Hoist may read/);
  }
});

test('a missing path is "missing" only inside the roots: outside, nothing tells whether it exists', async () => {
  assert.equal((await refusal(path.join(root, 'Day01', 'nope.mov'))).code, 'source.missing');
  assert.equal((await refusal(path.join(outside, 'nope.txt'))).code, 'source.outside-roots');
  assert.equal((await refusal(path.join(outside, 'secret.txt'))).code, 'source.outside-roots', 'an existing file there answers the same');
  assert.equal((await refusal(path.join(root, 'escape', 'nope.txt'))).code, 'source.outside-roots', 'nor through a link that leads out');
  assert.equal((await refusal('/no/such/place/at/all')).code, 'source.outside-roots');
});

test('.. and relative paths are refused as config.invalid, even when they would land inside', async () => {
  assert.equal((await refusal(path.join(root, 'Day01') + '/../Day01')).code, 'config.invalid');
  assert.equal((await refusal('Day01')).code, 'config.invalid');
});

test('with no root that exists, everything is refused, saying so', async () => {
  const none = new SourceRoots([path.join(base, 'gone')]);
  const r = await refusal(path.join(root, 'Day01'), none);
  assert.equal(r.code, 'source.outside-roots');
  assert.match(r.message, /has no folder it may read files from/);
});

test('checkRoots: --root must name existing folders', () => {
  assert.deepEqual(checkRoots([root]), [root]);
  assert.throws(() => checkRoots([path.join(base, 'gone')]), /--root .*gone: no such folder/);
  assert.throws(() => checkRoots([path.join(outside, 'secret.txt')]), /is not a folder/);
});

test('listDirectory: folders first, a link leading out shown as outside and nothing more, crumbs from the root; outside refused', async () => {
  const top = await listDirectory(roots, null);
  assert.deepEqual(top.entries.map((e) => [e.name, e.kind]), [[root, 'folder']]);
  const listing = await listDirectory(roots, root);
  assert.deepEqual(listing.entries.map((e) => [e.name, e.kind]), [['clips-link', 'folder'], ['Day01', 'folder'], ['escape', 'outside']]);
  assert.equal(listing.entries.find((e) => e.kind === 'outside')!.size, null);
  assert.equal(listing.parent, null);
  const day = await listDirectory(roots, path.join(root, 'Day01'));
  assert.deepEqual(day.entries.map((e) => [e.name, e.kind, e.size]), [['CLIPS', 'folder', null], ['secret-link.txt', 'outside', null]]);
  assert.deepEqual(day.crumbs.map((c) => c.name), [root, 'Day01']);
  assert.equal(day.parent, root);
  const clips = await listDirectory(roots, path.join(root, 'clips-link'));
  assert.equal(clips.path, path.join(root, 'Day01', 'CLIPS'), 'listed under its real path');
  assert.deepEqual(clips.entries.map((e) => [e.name, e.kind, e.size]), [['A001.mov', 'file', 4]]);
  for (const p of [outside, path.join(root, 'escape'), '/etc']) {
    await assert.rejects(listDirectory(roots, p), (err: unknown) => err instanceof HoistError && err.code === 'source.outside-roots', p);
  }
  await assert.rejects(listDirectory(roots, path.join(root, 'Day01', 'CLIPS', 'A001.mov')), /is a file, not a folder/);
});
