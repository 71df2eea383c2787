// Folders pinned to machines (issue 15): the claim filter and the source resolver on a real store,
// the same steps on SQLite (test/unit/pinned-folders.test.ts) and PostgreSQL (test/s3/pinned-cluster.test.ts).
// Folder A is seen by machine m1 at dirs.m1 and by m2 at dirs.m2 (one directory and a symlink to it);
// folder B only by m1. Jobs: one per folder, one added by hand on each machine, one older than
// machines (no machine recorded).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { enqueueJobs } from '../../src-main/engine/enqueue.js';
import { JobSources } from '../../src-main/engine/job-source.js';
import type { Db } from '../../src-main/engine/store/db.js';
import { BatchStore } from '../../src-main/engine/store/batch-store.js';
import { FolderStore, type NewFolder } from '../../src-main/engine/store/folder-store.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

export function folderInput(dir: string, destinationId: number): NewFolder {
  return { path: dir, destinationIds: [destinationId], after: 'keep', moveTo: null, priority: 'normal', prefix: '', include: [], exclude: [], singlePutThreshold: null, ifExists: null, growing: false, stableMs: 3000, enabled: true, hashAlgorithms: [], mhl: false, webhookUrl: null };
}

function file(dir: string, rel: string): string {
  const f = path.join(dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, rel);
  return f;
}

/** Runs the steps; `root` is an empty directory. */
export async function checkPinnedFolders(db: Db, root: string): Promise<void> {
  const store = new JobStore(db);
  const d = store.upsertDestination(destination);
  const real = path.join(root, 'nas');
  const linked = path.join(root, 'Volumes-NAS');
  fs.mkdirSync(path.join(real, 'A'), { recursive: true });
  fs.mkdirSync(path.join(real, 'B'), { recursive: true });
  fs.symlinkSync(real, linked);
  const on = { m1: new FolderStore(db, Date.now, 'm1'), m2: new FolderStore(db, Date.now, 'm2'), one: new FolderStore(db) };
  // Added on m1: pinned there; m2 says where it sees A.
  const a = on.m1.addFolder(folderInput(path.join(real, 'A'), d.id));
  const b = on.m1.addFolder(folderInput(path.join(real, 'B'), d.id));
  on.m2.paths.set(a.id, 'm2', path.join(linked, 'A'));
  assert.deepEqual(on.m2.getFolder(a.id)!.path, path.join(linked, 'A'), 'm2 reads A at its own path');
  assert.equal(on.m2.getFolder(b.id)!.seenHere, false, 'm2 does not see B');
  assert.equal(on.m1.getFolder(b.id)!.seenHere, true);

  const deps = (machine: string) => ({ store, batches: new BatchStore(db, store.owed), machine, resume: () => true });
  const queue = async (machine: string, abs: string, o: { folderId?: number; base?: string } = {}) =>
    (await enqueueJobs(deps(machine), [abs], { destination: d, key: path.basename(abs), hashes: [], ...o })).jobs[0]!;
  // A's file queued by m2 (through its symlinked path), B's by m1, one by hand on each machine.
  const jobA = await queue('m2', file(path.join(linked, 'A'), 'day1/a.mov'), { folderId: a.id, base: path.join(linked, 'A') });
  const jobB = await queue('m1', file(path.join(real, 'B'), 'b.mov'), { folderId: b.id, base: path.join(real, 'B') });
  const byHand1 = await queue('m1', file(root, 'hand1.mov'));
  const byHand2 = await queue('m2', file(root, 'hand2.mov'));
  const { origin: _dropped, ...made } = store.getJob(byHand1.id)!;
  const legacy = store.insertJob({ ...made, key: 'legacy.mov', sourcePath: path.join(root, 'legacy.mov') }, [{ partNumber: 1, offset: 0, length: 9 }]);
  assert.deepEqual(jobA.origin, { machine: 'm2', folderId: a.id, relPath: 'day1/a.mov' });

  const refs = (machine?: string) => store.nextQueuedJobRefs(100, machine).map((r) => r.id).sort((x, y) => x - y);
  assert.deepEqual(refs('m1'), [jobA.id, jobB.id, byHand1.id, legacy.id], 'm1 reads both folders and its own file');
  assert.deepEqual(refs('m2'), [jobA.id, byHand2.id, legacy.id], 'm2 reads A and its own file, not B nor m1’s file');
  assert.equal(refs().length, 5, 'without a machine (one machine), every job');
  assert.equal(store.claimJob(jobB.id, 'node-2', 5000, 'm2'), false, 'm2 cannot claim B’s job');
  assert.equal(store.claimJob(byHand1.id, 'node-2', 5000, 'm2'), false, 'nor m1’s hand-added file');
  assert.equal(store.claimJob(jobB.id, 'node-1', 5000, 'm1'), true);
  assert.equal(store.claimJob(jobA.id, 'node-1', 5000, 'm1'), true, 'm1 claims A’s job queued by m2');

  // Each machine reads A's file through its own path; B's and m1's file are nobody's on m2.
  const sources = { m1: new JobSources(on.m1), m2: new JobSources(on.m2), one: new JobSources(on.one) };
  const A = store.getJob(jobA.id)!;
  assert.equal(sources.m1.of(A)!.path, path.join(real, 'A', 'day1', 'a.mov'));
  assert.equal(sources.m2.of(A)!.path, path.join(linked, 'A', 'day1', 'a.mov'));
  assert.equal(fs.readFileSync(sources.m1.of(A)!.path, 'utf8'), 'day1/a.mov');
  assert.equal(sources.m2.of(store.getJob(jobB.id)!), null);
  assert.equal(sources.m2.of(store.getJob(byHand1.id)!), null);
  assert.equal(sources.m2.of(store.getJob(byHand2.id)!)!.path, byHand2.sourcePath);
  assert.equal(sources.one.of(A)!.path, A.sourcePath, 'one machine: the path recorded');
  // An ASC MHL root under the maker's folder moves with it.
  assert.equal(sources.m1.of({ ...A, mhlRoot: path.join(linked, 'A', 'day1') })!.mhlRoot, path.join(real, 'A', 'day1'));

  // m2 stops seeing A: its jobs go to m1 only; a folder nobody pinned is everybody's.
  on.m2.paths.remove(a.id, 'm2');
  assert.deepEqual(refs('m2'), [byHand2.id, legacy.id]);
  const open = on.one.addFolder(folderInput(path.join(root, 'open'), d.id));
  assert.equal(on.m2.getFolder(open.id)!.seenHere, true, 'added on one machine (no pin): seen everywhere at its path');
}
