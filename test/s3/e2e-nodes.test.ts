// Issue 15: the UI shows which machine is doing what. A queue shared by several nodes (here one SQLite
// file, as HOIST_SHARED_QUEUE runs it; the same rows on PostgreSQL): a second store on the same
// database plays another machine's node ("ingest-2"), registers, and claims a queued job with its
// lease, as its scheduler would. Debian's Chromium on the real headless host then shows, in the
// queue, that job as worked "on ingest-2", and in its detail the host and pid; a job this machine
// holds says nothing in the queue (it is the ordinary case). The engine serving the UI is not
// started, so nothing but the other node touches the jobs.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Destination } from '../../shared/types.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { testDbPath, testEngine } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, writeRandomFile } from '../support/s3.js';
import { serveApp, type AppUnderTest } from '../support/ui-session.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 120_000;

const { endpoint, bucket, dir, onClose } = await s3Fixture('e2e-nodes');
let engine: Engine;
let dest: Destination;
let other: JobStore;
let api: EngineApi;
let app: AppUnderTest;

before(async () => {
  ({ engine, dest } = testEngine(dir, { endpoint, bucket, name: 'Dailies (local S3)' }, {}, { sharedQueue: true }));
  api = new EngineApi(engine, { roots: [dir] });
  other = new JobStore(openDatabase(testDbPath(dir)).db);
  app = await serveApp(api, WAIT_MS);
});

onClose(async () => {
  await app?.close();
  await engine?.close();
  other?.db.close();
});

test('a job another machine works shows that machine in the queue and its host and pid in the job detail; one held here names no machine in the queue', async () => {
  const theirs = await writeRandomFile(path.join(dir, 'A001_C001.mov'), 1 * MiB);
  const ours = await writeRandomFile(path.join(dir, 'A001_C002.mov'), 1 * MiB);
  const [a, b] = await engine.enqueue([theirs, ours], { destination: dest, hashes: [] });
  other.nodes.register('node-ingest-2', 'ingest-2');
  assert.equal(other.claimJob(a!.id, 'node-ingest-2', 10 * 60_000), true, 'the other node holds the first job');
  engine.store.nodes.register(engine.owner);
  assert.equal(engine.store.claimJob(b!.id, engine.owner, 10 * 60_000), true, 'this machine holds the second');

  const { page, pageErrors } = app;
  const rowOf = (id: number) => page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
  await rowOf(a!.id).getByTestId('job-node').filter({ hasText: 'on ingest-2' }).waitFor({ timeout: WAIT_MS });
  await rowOf(b!.id).waitFor();
  assert.equal(await rowOf(b!.id).getByTestId('job-node').count(), 0, 'a job held on this machine names no machine');

  await rowOf(a!.id).getByTestId('job-link').click();
  await page.getByTestId('screen-job').waitFor();
  assert.equal(await page.getByTestId('job-node').innerText(), `ingest-2, pid ${process.pid}`);
  assert.deepEqual(pageErrors, []);
});
