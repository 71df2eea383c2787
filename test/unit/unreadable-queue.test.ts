// A shared queue this machine can read none of (issue 15, docs/architecture.md "The cluster"): every
// job pinned to a folder another machine sees. Looking it over walks every queued row and filters it
// out (bench/unreadable-queue.ts: tens of ms a look on PostgreSQL at 100,000 jobs), so a look that
// found nothing is made again only after a second, or at once when this node knows of new work (a
// poke: its own enqueue or command). The scheduler runs on a SQLite file shared as a cluster's queue,
// its timers and clock mocked; its store counts the looks.
import assert from 'node:assert/strict';
import path from 'node:path';
import { mock, test } from 'node:test';
import { Scheduler } from '../../src-main/engine/scheduler/scheduler.js';
import { CredentialSource } from '../../src-main/engine/s3/connection.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { FolderStore } from '../../src-main/engine/store/folder-store.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import type { UploadStore } from '../../src-main/engine/store/upload-store.js';
import type { PartRunner } from '../../src-main/engine/upload/worker-pool.js';
import { folderInput } from '../support/pinned.js';
import { tempDir } from '../support/s3.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

test('a node that can read none of the queue looks it over once a second, not every tick; at once when it queued work itself', () => {
  const { db } = openDatabase(path.join(tempDir('unreadable-queue'), 'hoist.db'));
  const store = new JobStore(db);
  const dest = store.upsertDestination(destination);
  const folder = new FolderStore(db, Date.now, 'elsewhere').addFolder(folderInput('/nas/elsewhere', dest.id));
  const job = (key: string, machine: string, folderId?: number) =>
    store.insertJob(
      { destinationId: dest.id, sourcePath: `/nas/${key}`, bucket: 'bucket', key, size: 10, mtimeMs: 1, inode: '1', contentType: 'video/mp4', mode: 'single', partSize: 10, priority: 'normal', checksumAlgorithm: null,
        origin: { machine, folderId: folderId ?? null, relPath: folderId === undefined ? null : key } },
      [{ partNumber: 1, offset: 0, length: 10 }],
    );
  for (let i = 0; i < 5; i++) job(`pinned-${i}.mov`, 'elsewhere', folder.id);

  let looks = 0;
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'nextQueuedJobRefs' || typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        looks++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as UploadStore;
  mock.timers.enable({ apis: ['setInterval', 'setImmediate', 'Date'], now: Date.now() });
  // No job is opened here, so no part may be handed on.
  const noParts: PartRunner = { run: () => assert.fail('no part is sent'), abort: () => undefined, warm: () => undefined };
  // sourceOf null: a job found readable is not opened (nothing to send it to), so the looks go on being counted.
  const scheduler = new Scheduler(counted, noParts, new CredentialSource(), {
    tickMs: 200,
    sourceOf: () => null,
    shared: { owner: 'node-here', machine: 'here', leaseMs: 30_000, liveOthers: () => 0 },
  });
  try {
    scheduler.start();
    assert.equal(looks, 1, 'the start looks');
    for (let i = 0; i < 10; i++) mock.timers.tick(200);
    assert.ok(looks <= 3, `10 ticks over a queue it cannot read: ${looks} looks (one per tick would be 11)`);

    // This node queued work itself (the engine pokes the scheduler): looked at once.
    const before = looks;
    scheduler.poke();
    assert.equal(looks, before + 1, 'a poke looks at once');

    // Work another node queued that this machine can read is found within a second, with no poke.
    job('here.mov', 'here');
    const found = looks;
    for (let i = 0; i < 5; i++) mock.timers.tick(200);
    assert.ok(looks > found, 'looked again within a second');
    // From then on the look finds it, and looks every tick (a slot may free at any tick).
    const each = looks;
    for (let i = 0; i < 5; i++) mock.timers.tick(200);
    assert.equal(looks, each + 5);
  } finally {
    void scheduler.stop();
    mock.timers.reset();
    db.close();
  }
});
