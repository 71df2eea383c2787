// The HoistApi's commands for what goes on after the uploads (issue 14): ASC MHL batches and their
// retry, webhook deliveries and their retry, the bucket's lifecycle rule shown and set, and where
// the log is. EngineApi (api.ts) hands these calls here one-for-one; each does what the matching
// CLI command does (`hoist batches list|retry`, `hoist webhooks [retry]`, `hoist uploads
// lifecycle [--days]`, `hoist logs`), through the same functions.
import fs from 'node:fs';
import type { HoistApi } from '../../shared/contract.js';
import { HoistError } from '../../shared/errors.js';
import type { AbortIncompleteSummary, BatchEntry, SupportInfo, WebhookDelivery } from '../../shared/records.js';
import type { Destination } from '../../shared/types.js';
import { APP_VERSION } from './app-info.js';
import type { Engine } from './engine.js';
import { batchEntryOf } from './records/batch-entries.js';
import { webhookDeliveries } from './records/webhook-deliveries.js';
import { installAbortIncompleteRule, readLifecycleRules, summarizeAbortIncomplete } from './remote/lifecycle.js';
import { MHL_WRITE } from './store/batch-store.js';
import type { JobStore } from './store/job-store.js';
import { WEBHOOK } from './store/outbox-store.js';

export type RecordsCommands = Pick<
  HoistApi,
  'listBatches' | 'retryBatch' | 'listWebhookDeliveries' | 'retryWebhookDeliveries' | 'lifecycleRule' | 'installLifecycleRule' | 'supportInfo'
>;

/** What these commands need of the engine. */
export type RecordsEngine = Pick<Engine, 'listBatches' | 'batch' | 'retryBatch' | 'clientFor' | 'owed' | 'webhooks'> & {
  readonly store: Pick<JobStore, 'listJobs' | 'getDestination'>;
};

export class RecordsApi implements RecordsCommands {
  constructor(
    private readonly engine: RecordsEngine,
    /** The log file this process writes (runtime/log-file.ts). */
    private readonly logFile: string,
  ) {}

  async listBatches(): Promise<BatchEntry[]> {
    return this.engine.listBatches().map((b) => batchEntryOf(b, this.engine.store.listJobs({ batchId: b.id })));
  }

  async retryBatch(id: number): Promise<BatchEntry> {
    this.engine.retryBatch(id);
    this.engine.owed.poke(MHL_WRITE);
    const b = this.engine.batch(id)!;
    return batchEntryOf(b, this.engine.store.listJobs({ batchId: id }));
  }

  async listWebhookDeliveries(owedOnly?: boolean): Promise<WebhookDelivery[]> {
    return webhookDeliveries(this.engine.webhooks.outbox.all(), owedOnly ?? false);
  }

  async retryWebhookDeliveries(ids: string[] | 'given-up'): Promise<number> {
    const known = new Set(this.engine.webhooks.outbox.all().map((i) => i.id));
    const unknown = ids === 'given-up' ? undefined : ids.find((id) => !known.has(id));
    if (unknown !== undefined) throw new HoistError('config.invalid', { message: `There is no webhook event ${unknown} (see \`hoist webhooks\`).` });
    const n = this.engine.webhooks.outbox.retry(ids === 'given-up' ? null : ids);
    this.engine.owed.poke(WEBHOOK);
    return n;
  }

  async lifecycleRule(destinationId: number): Promise<AbortIncompleteSummary> {
    const dest = this.destination(destinationId);
    return summarizeAbortIncomplete(dest.bucket, await readLifecycleRules(await this.engine.clientFor(dest), dest.bucket));
  }

  async installLifecycleRule(destinationId: number, days: number): Promise<{ rules: number }> {
    const dest = this.destination(destinationId);
    return installAbortIncompleteRule(await this.engine.clientFor(dest), dest.bucket, days);
  }

  async supportInfo(): Promise<SupportInfo> {
    return { logFile: this.logFile, logExists: fs.existsSync(this.logFile), appVersion: APP_VERSION };
  }

  private destination(id: number): Destination {
    const dest = this.engine.store.getDestination(id);
    if (!dest) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    return dest;
  }
}
