// What a new watched folder must pass before it is recorded (folders/folder-rules.ts): no S3 server,
// no database; the folders already watched are given as they would be read from the store.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import type { WatchedFolderInput } from '../../shared/types.js';
import type { FolderRecord } from '../../src-main/engine/store/folder-store.js';
import { checkNewFolder, type FolderRulesContext } from '../../src-main/engine/folders/folder-rules.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-folder-rules-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
for (const d of ['in/inner', 'other', 'done', 'elsewhere']) fs.mkdirSync(path.join(root, d), { recursive: true });
fs.writeFileSync(path.join(root, 'a-file'), 'x');

function watched(id: number, rel: string, more: Partial<FolderRecord> = {}): FolderRecord {
  return {
    id, path: path.join(root, rel), destinationId: 1, destinationIds: [1], after: 'keep', moveTo: null, priority: 'normal', prefix: '', include: [], exclude: [],
    singlePutThreshold: null, ifExists: null, growing: false, stableMs: 3000, enabled: true, hashAlgorithms: ['xxh64'], mhl: false, webhookUrl: null, createdAt: new Date(0).toISOString(), seenHere: true, sharedPath: path.join(root, rel), ...more,
  };
}

function ctx(existing: FolderRecord[] = []): FolderRulesContext {
  return { existing, destinationExists: (id) => id === 1 || id === 2 };
}

async function refuses(input: WatchedFolderInput, message: RegExp, existing: FolderRecord[] = []): Promise<void> {
  await assert.rejects(checkNewFolder(input, ctx(existing)), (err: unknown) => err instanceof HoistError && err.code === 'config.invalid' && message.test(err.message));
}

test('a valid folder comes back as it will be recorded: path resolved, prefix without a leading slash, defaults filled in', async () => {
  const f = await checkNewFolder({ path: path.join(root, 'in', '..', 'in'), destinationId: 1, prefix: '//shoot', include: ['*.mov'] }, ctx());
  assert.equal(f.path, path.join(root, 'in'));
  assert.equal(f.prefix, 'shoot');
  assert.deepEqual(f.destinationIds, [1]);
  assert.equal(f.after, 'keep');
  assert.equal(f.priority, 'normal');
  assert.equal(f.stableMs, 3000, 'a few seconds by default');
  assert.deepEqual(f.hashAlgorithms, ['xxh64']);
  assert.equal((await checkNewFolder({ path: path.join(root, 'in'), destinationId: 1 }, { ...ctx(), defaultStableMs: 500 })).stableMs, 500);
});

test('the folder itself, its destinations and its settings', async () => {
  await refuses({ path: path.join(root, 'missing'), destinationId: 1 }, /does not exist/);
  await refuses({ path: path.join(root, 'a-file'), destinationId: 1 }, /not a folder/);
  await refuses({ path: root, destinationId: 999 }, /no destination 999/);
  await refuses({ path: root, destinationId: 1, destinationIds: [2, 1] }, /must be the first/);
  await refuses({ path: root, destinationId: 1, destinationIds: [1, 1] }, /named twice/);
  await refuses({ path: root, destinationId: 1, priority: 'urgent' as never }, /high, normal or low/);
  await refuses({ path: root, destinationId: 1, stableMs: 1.5 }, /whole number/);
  await refuses({ path: root, destinationId: 1, exclude: ['x'.repeat(70_000)] }, /is not a valid pattern/);
});

test('after delivery: a move folder must exist, outside the watched folder', async () => {
  await refuses({ path: path.join(root, 'in'), destinationId: 1, after: 'move' }, /Say where/);
  await refuses({ path: path.join(root, 'in'), destinationId: 1, after: 'keep', moveTo: path.join(root, 'done') }, /only with after: move/);
  await refuses({ path: path.join(root, 'in'), destinationId: 1, after: 'move', moveTo: path.join(root, 'in', 'inner') }, /overlaps the watched folder/);
  await refuses({ path: path.join(root, 'in'), destinationId: 1, after: 'move', moveTo: path.join(root, 'nowhere') }, /does not exist/);
  const f = await checkNewFolder({ path: path.join(root, 'in'), destinationId: 1, after: 'move', moveTo: path.join(root, 'done') }, ctx());
  assert.equal(f.moveTo, path.join(root, 'done'));
});

test('no file uploaded twice to one destination, nor taken from a folder that has not delivered it', async () => {
  await refuses({ path: path.join(root, 'in'), destinationId: 1 }, /already watched/, [watched(7, 'in')]);
  await refuses({ path: path.join(root, 'in', 'inner'), destinationId: 1 }, /overlaps watched folder 7/, [watched(7, 'in')]);
  // Another destination: both may upload the same files, unless one of them deletes or moves them.
  await checkNewFolder({ path: path.join(root, 'in', 'inner'), destinationId: 2 }, ctx([watched(7, 'in')]));
  await refuses({ path: path.join(root, 'in', 'inner'), destinationId: 2, after: 'delete' }, /deletes or moves/, [watched(7, 'in')]);
  await refuses({ path: path.join(root, 'elsewhere'), destinationId: 2, after: 'move', moveTo: path.join(root, 'in', 'inner') }, /would upload them again/, [watched(7, 'in')]);
  await refuses({ path: path.join(root, 'done'), destinationId: 2 }, /moves its delivered files/, [watched(7, 'other', { after: 'move', moveTo: path.join(root, 'done') })]);
});
