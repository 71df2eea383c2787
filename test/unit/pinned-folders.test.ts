// Folders pinned to machines on SQLite (issue 15): a job is offered to and claimed by only a machine
// that can read its source, and each machine reads a folder's file through its own path
// (test/support/pinned.ts; the same steps on PostgreSQL in test/s3/pinned-cluster.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { checkPinnedFolders } from '../support/pinned.js';
import { tempDir } from '../support/s3.js';

test('pinned folders on SQLite: claims and offers only what the machine can read, each machine reading through its own path', async () => {
  const dir = tempDir('pinned');
  const root = path.join(dir, 'files');
  fs.mkdirSync(root);
  await checkPinnedFolders(openDatabase(path.join(dir, 'hoist.db')).db, root);
});
