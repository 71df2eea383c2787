// Writes each sealed ASC MHL batch's generation once all its jobs have settled (issue 8), in the
// process that works the queue. Sealing a batch owes its write (owed work, store/batch-store.ts), so
// a batch whose last file arrived just before a crash gets its generation at the next start; a write
// that fails for a reason that may pass (network, SlowDown) is tried again by the owed-work runner,
// with its back-off.
import { EventEmitter } from 'node:events';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError, isRetryable } from '../../../shared/errors.js';
import type { Destination } from '../../../shared/types.js';
import type { AttemptContext, OwedResult, OwedRunner } from '../owed/runner.js';
import { toHoistError } from '../s3/errors.js';
import { MHL_WRITE, type BatchRecord, type BatchStore, type MhlWritePayload } from '../store/batch-store.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { OwedItem } from '../store/owed-store.js';
import { GenerationWriter } from './generation-writer.js';
import { recordedPlace, type SourcePlace } from '../job-source.js';
import { ManifestFormatError } from './manifest.js';

export interface MhlServiceOptions {
  /** How often a batch waiting for its jobs is looked at again. */
  tickMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Failed writes of one batch before it stays `failed`. */
  attempts?: number;
}

export interface MhlServiceEvents {
  batch: [batch: BatchRecord];
}

export class MhlService extends EventEmitter<MhlServiceEvents> {
  private readonly writer: GenerationWriter;

  constructor(
    private readonly jobs: JobStore,
    private readonly batches: BatchStore,
    private readonly clientFor: (dest: Destination) => Promise<S3Client>,
    private readonly runner: OwedRunner,
    private readonly opts: MhlServiceOptions = {},
    /** Where this machine reads a job's source and its ASC MHL root (job-source.ts); default: as recorded. */
    private readonly sourceOf: (job: JobRecord) => SourcePlace | null = recordedPlace,
  ) {
    super();
    this.writer = new GenerationWriter(batches);
    runner.register<MhlWritePayload>(MHL_WRITE, {
      retry: { baseDelayMs: opts.retryBaseMs ?? 1_000, maxDelayMs: opts.retryMaxMs ?? 60_000 },
      maxAttempts: opts.attempts ?? 6,
      prepare: () => this.regroupLateJobs(),
      handle: (item, ctx) => this.writeOne(item, ctx),
    });
  }

  /** Looks for batches to write now. */
  poke(): void {
    this.runner.poke(MHL_WRITE);
  }

  /** A failed job retried after its batch was written arrived later: it gets a generation of its own. */
  private regroupLateJobs(): void {
    const byBatch = new Map<number, number[]>();
    for (const { jobId, batchId } of this.batches.lateJobIds()) byBatch.set(batchId, [...(byBatch.get(batchId) ?? []), jobId]);
    for (const [batchId, jobIds] of byBatch) {
      const from = this.batches.get(batchId);
      if (from) this.emit('batch', this.batches.regroup(jobIds, from));
    }
  }

  private async writeOne(item: OwedItem<MhlWritePayload>, ctx: AttemptContext): Promise<OwedResult> {
    const batch = this.batches.get(item.payload.batchId);
    if (!batch || batch.state !== 'sealed') return { outcome: 'dropped' };
    if (!this.batches.jobsSettled(batch.id)) return { outcome: 'not-yet', retryInMs: this.opts.tickMs ?? 500 };
    const dest = this.jobs.getDestination(batch.destinationId);
    if (!dest) {
      const e = new HoistError('config.invalid', { message: `Destination ${batch.destinationId} no longer exists.` });
      this.batches.writeFailed(batch.id, e.info, true);
      this.emit('batch', this.batches.get(batch.id)!);
      return { outcome: 'failed', error: `${e.code}: ${e.message}`, final: true };
    }
    const jobs = this.jobs.listJobs({ batchId: batch.id });
    // The source's history is read where this machine sees the batch's root; one that does not see it leaves the write to one that does.
    const placed = jobs.find((j) => j.mhlRoot === batch.root);
    const here = placed ? this.sourceOf(placed) : recordedPlace({ sourcePath: batch.root, mhlRoot: batch.root });
    if (!here) return { outcome: 'not-yet', retryInMs: this.opts.tickMs ?? 500 };
    try {
      const written = await this.writer.write(await this.clientFor(dest), dest, { ...batch, root: here.mhlRoot ?? batch.root }, jobs);
      this.batches.markWritten(batch.id, written.listedJobIds);
      const what = written.generation === null
        ? 'No file of the batch arrived, so no ASC MHL generation was written.'
        : `Listed in ASC MHL generation ${written.generation} (s3://${batch.bucket}/${written.manifestKey})${written.copied.length ? `; the source's history (${written.copied.join(', ')}) was copied beside it` : ''}.`;
      for (const id of written.listedJobIds) this.jobs.addEvent(id, 'mhl-written', what);
      this.emit('batch', this.batches.get(batch.id)!);
      return { outcome: 'settled' };
    } catch (err) {
      const e = err instanceof ManifestFormatError
        ? new HoistError('config.invalid', { message: `The ASC MHL history under s3://${batch.bucket}/${batch.keyPrefix}ascmhl/ cannot be read: ${err.message}` })
        : toHoistError(err);
      const final = !isRetryable(e.code) || ctx.retryInMs === null;
      this.batches.writeFailed(batch.id, e.info, final);
      this.emit('batch', this.batches.get(batch.id)!);
      return { outcome: 'failed', error: `${e.code}: ${e.message}`, final };
    }
  }
}
