// One node's claim of a job, in a thread of its own with its own PostgreSQL connection (the store's
// bridge is synchronous: one thread cannot race two claims). test/s3/claim-race.test.ts starts two.
// workerData: { url, jobId, owner }. Says 'ready' once its store is open, claims on 'go', answers { claimed }.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';

const { url, jobId, owner } = workerData as { url: string; jobId: number; owner: string };
const store = new JobStore(openDatabase(url).db);
parentPort!.once('message', () => {
  const claimed = store.claimJob(jobId, owner, 60_000);
  store.db.close();
  parentPort!.postMessage({ claimed });
});
parentPort!.postMessage('ready');
