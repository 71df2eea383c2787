// Opening a job: its source is checked against the snapshot, its whole-file hash pass started,
// what its key holds decided by its --if-exists policy (key-decision.ts), and its multipart upload
// created (or, after a crash, reconciled with the server).
import { HoistError } from '../../../shared/errors.js';
import * as ops from '../s3/operations.js';
import { objectSettings, sameSnapshot, statSource, type ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { restartForChangedSource } from './failures.js';
import { hashesInline, startHashing } from './hash-pass.js';
import { integrityUndecided, planIntegrity } from './integrity-plan.js';
import { saveDecision, settleKey } from './key-decision.js';
import { alreadyCompleted, cleanUpInterruptedCreate, reconcile } from './reconcile.js';

export async function prepare(ctx: RunContext, a: ActiveJob): Promise<void> {
  const { job } = a;
  // Looks at the source's ASC MHL history started from now on answer this opening (source-history.ts).
  a.historySince = ctx.histories.ticket();
  const snap = await statSource(a.source.path);
  if (!snap) throw new HoistError('source.missing', { detail: a.source.path });
  if (job.growing !== 1 && !sameSnapshot(snap, job)) {
    await restartForChangedSource(ctx, a, snap);
    return;
  }
  // Whole-file hashes: before the key is looked at, so that comparing the file with what the key
  // holds reads it alongside (the page cache serves the second read); beside the parts of a
  // multipart upload (Complete waits for them); before a single PutObject, so that a file its
  // history does not vouch for leaves no object at all. A single PutObject with no such history
  // computes them in the same read as its body (hashesInline).
  if (job.growing !== 1 && !(await hashesInline(ctx, a))) startHashing(ctx, a);
  const client = await ctx.net.client(a.dest);
  // What the key holds, by the job's --if-exists policy: nothing more to do when the bytes are there.
  if ((await settleKey(ctx, a, client)) === 'ended') return;
  // How its parts prove their bytes, before the first of them goes (integrity-plan.ts).
  if (integrityUndecided(a)) await planIntegrity(ctx, a, client);
  // The key decision, if the plan did not take it along: written before anything is sent.
  saveDecision(ctx, a);
  if (job.mode === 'multipart') {
    if (job.uploadId) {
      const alive = await reconcile(ctx, a, client, job.uploadId);
      if (!alive && (await alreadyCompleted(ctx, a, client))) return;
      if (!alive) {
        ctx.store.restartUpload(job.id, {
          event: { message: 'The multipart upload no longer exists on the server (aborted outside Hoist or by a lifecycle rule); starting it afresh.', error: { code: 's3.no-such-upload' } },
        });
        a.job.uploadId = null;
        a.bytesAcked = 0;
        a.partsDone = 0;
      }
    }
    if (!a.job.uploadId) {
      if (job.createStartedAt) await cleanUpInterruptedCreate(ctx, a, client, job.createStartedAt);
      ctx.store.markCreateStarted(job.id, Date.now());
      const uploadId = await ops.createMultipartUpload(client, job.bucket, job.key, objectSettings(a), a.job.checksumAlgorithm, a.job.checksumType);
      ctx.store.recordUploadCreated(job.id, uploadId, `Multipart upload created (${job.partCount} parts of up to ${job.partSize} bytes).`);
      a.job.uploadId = uploadId;
    }
    // The SDK corrected its own clock if the server refused a skewed signature; the part workers learn it here.
    ctx.net.observeClock(a, client);
  }
  if (a.stopping) {
    ctx.release(a);
    return;
  }
  if (job.mode === 'single' && (await a.hashing)) return;
  if (a.stopping) {
    ctx.release(a);
    return;
  }
  a.phase = 'sending';
  ctx.tick();
}
