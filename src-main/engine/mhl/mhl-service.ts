// Writes each sealed ASC MHL batch's generation once all its jobs have settled (issue 8), in the
// process that works the queue. Everything it needs is in the database, so a batch whose last file
// arrived just before a crash gets its generation at the next start; a write that fails for a
// reason that may pass (network, SlowDown) is tried again with back-off.
import { EventEmitter } from 'node:events';
import type { S3Client } from '@aws-sdk/client-s3';
import { HoistError, isRetryable } from '../../../shared/errors.js';
import type { Destination } from '../../../shared/types.js';
import { toHoistError } from '../s3/errors.js';
import type { BatchRecord, BatchStore } from '../store/batch-store.js';
import type { JobStore } from '../store/job-store.js';
import { GenerationWriter } from './generation-writer.js';
import { ManifestFormatError } from './manifest.js';

export interface MhlServiceOptions {
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
  private timer: NodeJS.Timeout | null = null;
  private working: Promise<void> | null = null;
  private readonly writer: GenerationWriter;

  constructor(
    private readonly jobs: JobStore,
    private readonly batches: BatchStore,
    private readonly clientFor: (dest: Destination) => Promise<S3Client>,
    private readonly opts: MhlServiceOptions = {},
  ) {
    super();
    this.writer = new GenerationWriter(batches);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.poke(), this.opts.tickMs ?? 500);
    this.poke();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.working;
  }

  /** Looks for batches to write now (one pass at a time). */
  poke(): void {
    if (this.working || !this.timer) return;
    this.working = this.pass().finally(() => (this.working = null));
  }

  private async pass(): Promise<void> {
    try {
      this.regroupLateJobs();
      for (const batch of this.batches.readyToWrite()) {
        if (!this.timer) return;
        await this.writeOne(batch);
      }
    } catch (err) {
      const e = toHoistError(err);
      process.emitWarning(`hoist mhl: ${e.info.code}: ${e.message}`);
    }
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

  private async writeOne(batch: BatchRecord): Promise<void> {
    const dest = this.jobs.getDestination(batch.destinationId);
    if (!dest) {
      this.batches.writeFailed(batch.id, new HoistError('config.invalid', { message: `Destination ${batch.destinationId} no longer exists.` }).info, null);
      this.emit('batch', this.batches.get(batch.id)!);
      return;
    }
    const jobs = this.jobs.listJobs({ batchId: batch.id });
    try {
      const written = await this.writer.write(await this.clientFor(dest), dest, this.batches.get(batch.id)!, jobs);
      this.batches.markWritten(batch.id, written.listedJobIds);
      const what = written.generation === null
        ? 'No file of the batch arrived, so no ASC MHL generation was written.'
        : `Listed in ASC MHL generation ${written.generation} (s3://${batch.bucket}/${written.manifestKey})${written.copied.length ? `; the source's history (${written.copied.join(', ')}) was copied beside it` : ''}.`;
      for (const id of written.listedJobIds) this.jobs.addEvent(id, 'mhl-written', what);
    } catch (err) {
      const e = err instanceof ManifestFormatError
        ? new HoistError('config.invalid', { message: `The ASC MHL history under s3://${batch.bucket}/${batch.keyPrefix}ascmhl/ cannot be read: ${err.message}` })
        : toHoistError(err);
      const retry = isRetryable(e.code) && batch.attempts + 1 < (this.opts.attempts ?? 6);
      const base = this.opts.retryBaseMs ?? 1_000;
      const delay = Math.min(this.opts.retryMaxMs ?? 60_000, base * 2 ** batch.attempts);
      this.batches.writeFailed(batch.id, e.info, retry ? Date.now() + delay : null);
    }
    this.emit('batch', this.batches.get(batch.id)!);
  }
}
