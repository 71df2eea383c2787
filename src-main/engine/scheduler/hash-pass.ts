// Whole-file hashes and the source's ASC MHL history (issue 8): one in-order read of the file on a
// worker thread, saved as it goes so a pass cut short goes on where it stopped, then checked
// against the newest generation of the root's history that lists the file. Where the parts will carry
// a CRC alone, the same read computes each part's CRC for them (pass-checksums.ts).
import { FILE_HASH_ALGORITHMS, type FileHashes } from '../../../shared/states.js';
import type { HashVerification } from '../../../shared/types.js';
import { recordAlgorithms, verifyAgainstHistory } from '../mhl/source-history.js';
import { fromErrorInfo, toHoistError } from '../s3/errors.js';
import { formatBytes } from '../upload/part-plan.js';
import { isSourceProblem, snapshotOf, type ActiveJob } from './active-job.js';
import type { RunContext } from './context.js';
import { failJob, onSourceProblem } from './failures.js';
import { PassChecksums, passChecksumAlgorithm } from './pass-checksums.js';

/** A hash pass cut short loses at most this much reading (a second or so on a fast disk); saving costs one small row. */
const DEFAULT_HASH_CHECKPOINT_BYTES = 1024 ** 3;

/** Starts the hash pass once per activation; its problem (a mismatch, a changed file) is handled here, whoever waits. */
export function startHashing(ctx: RunContext, a: ActiveJob): void {
  if (a.hashing) return;
  a.hashing = hashAndVerify(ctx, a).then(
    () => null,
    (err) => toHoistError(err),
  );
  ctx.track(
    a.hashing.then(async (err) => {
      if (!err || a.stopping) return;
      if (isSourceProblem(err.code)) await onSourceProblem(ctx, a, err);
      else failJob(ctx, a, err);
    }),
  );
}

/**
 * True when the job's whole-file hashes come with its PutObject (`a.inlineHashes`, the ones still
 * missing): a file sent in one request whose root has no ASC MHL history listing it. A file such a
 * history vouches for is hashed and checked before it is sent, so that one it contradicts leaves no object.
 */
export async function hashesInline(ctx: RunContext, a: ActiveJob): Promise<boolean> {
  const { job } = a;
  if (job.mode !== 'single' || job.growing === 1) return false;
  // A look at the root's `ascmhl/` started since the job opened answers it (source-history.ts).
  if (a.source.mhlRoot && job.mhlPath && (await ctx.histories.forRoot(a.source.mhlRoot, a.historySince))?.lookup(job.mhlPath)) return false;
  a.inlineHashes = FILE_HASH_ALGORITHMS.filter((alg) => job.hashAlgorithms.includes(alg) && job.hashes[alg] === undefined);
  return true;
}

/**
 * Hashes the whole file in one in-order read (worker thread, snapshot checked before and after, as
 * every part is) and checks the result against the newest generation of the root's history that
 * lists the file. Hashes already recorded for this snapshot (before a crash) are not computed again.
 */
async function hashAndVerify(ctx: RunContext, a: ActiveJob): Promise<void> {
  const { job } = a;
  const history = a.source.mhlRoot && job.mhlPath ? await ctx.histories.forRoot(a.source.mhlRoot) : null;
  const record = history?.lookup(job.mhlPath!) ?? null;
  // The history's own formats are added, so that it can vouch for the file whatever was asked for.
  const wanted = FILE_HASH_ALGORITHMS.filter((alg) => job.hashAlgorithms.includes(alg) || (record && recordAlgorithms(record).includes(alg)));
  if (wanted.length === 0) return;
  let hashes: FileHashes = job.hashes;
  const missing = wanted.filter((alg) => hashes[alg] === undefined);
  // All there (read with a PutObject's body, or before a restart) and no history to check: nothing to do.
  if (missing.length === 0 && !record) return;
  if (missing.length > 0) {
    const snap = snapshotOf(job);
    // The pass of a growing file starts only once it has stopped growing, so its snapshot is final.
    const resume = ctx.store.hashCheckpoint(job.id, snap, wanted);
    if (resume) ctx.store.addEvent(job.id, 'hash-resumed', `Hashing goes on from ${formatBytes(resume.offset)} of ${formatBytes(job.size)}, where the previous pass stopped.`);
    a.hashedBytes = resume?.offset ?? 0;
    // Each part's CRC from the same read, where the parts will carry it alone (pass-checksums.ts).
    const partAlgorithm = ctx.opts.passPartChecksums === false ? null : passChecksumAlgorithm(job, a.dest);
    const passChecksums = partAlgorithm ? new PassChecksums(partAlgorithm, snap, resume?.offset ?? 0) : undefined;
    a.passChecksums = passChecksums;
    const run = ctx.pool.run(
      {
        kind: 'hash-file', path: a.source.path, offset: 0, length: job.size, snapshot: snap, checksumAlgorithm: partAlgorithm, algorithms: wanted,
        checkpointEvery: ctx.opts.hashCheckpointBytes ?? DEFAULT_HASH_CHECKPOINT_BYTES, ...(resume ? { resume } : {}), ...(partAlgorithm ? { partSize: job.partSize } : {}),
      },
      (n) => (a.hashedBytes = n),
      (cp) => {
        try {
          ctx.store.saveHashCheckpoint(job.id, snap, wanted, cp);
        } catch {
          // Only a shortcut for later (the job may be gone, the disk full): the pass itself goes on.
          return;
        }
        ctx.hashCheckpointSaved(job.id, cp.offset);
      },
      passChecksums ? (offset, length, checksum) => passChecksums.add(offset, length, checksum) : undefined,
    );
    a.hashTaskId = run.taskId;
    const o = await run.outcome.finally(() => passChecksums?.end());
    a.hashTaskId = undefined;
    a.hashedBytes = undefined;
    if (!o.ok) {
      if (o.aborted || a.stopping) return;
      // The file is not what the checkpoint hashed (changed, gone, unreadable): nothing to go on from.
      ctx.store.clearHashCheckpoint(job.id);
      throw fromErrorInfo(o.error);
    }
    hashes = { ...hashes, ...o.result.fileHashes };
    if (resume && o.result.hashedFrom === 0) ctx.store.addEvent(job.id, 'hash-restarted', 'The saved state of the previous pass could not be loaded; the file was hashed from the start.');
  }
  if (a.stopping) return;
  let verifiedBy: HashVerification | null = null;
  try {
    verifiedBy = record ? verifyAgainstHistory(a.source.path, a.source.mhlRoot!, record, hashes) : null;
  } finally {
    // Kept even on a mismatch: the user sees both values.
    ctx.store.setHashes(job.id, hashes, verifiedBy);
    // Recorded: the pass is over (a pass that ended as the job stopped is not, and goes on from its checkpoint).
    ctx.store.clearHashCheckpoint(job.id);
    a.job.hashes = hashes;
    a.job.verifiedBy = verifiedBy;
  }
  if (missing.length > 0 || verifiedBy) {
    const list = wanted.map((alg) => `${alg} ${hashes[alg]}`).join(', ');
    ctx.store.addEvent(job.id, 'hashed', verifiedBy ? `Hashed (${list}); matches ${verifiedBy.manifest} of the source's ASC MHL history.` : `Hashed (${list}).`);
  }
}
