// Delivers webhook events from the persistent outbox: each event is POSTed until a receiver
// answers 2xx, with back-off, across restarts, always under the same event id.
import type { JobStore } from '../store/job-store.js';
import type { OutboxItem, OutboxStore, SettledJobEvent, WebhookKind } from '../store/outbox-store.js';
import { backoffDelay, type RetryPolicy } from '../backoff.js';
import { USER_AGENT } from '../app-info.js';
import { batchPayload, jobPayload, type FolderRef } from './webhook-payloads.js';

export interface WebhookOptions {
  /** How often the outbox is looked at. */
  tickMs?: number;
  /** A receiver that has not answered by then counts as a failed attempt. */
  timeoutMs?: number;
  /** Back-off between attempts of one event. */
  retry?: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;
  /** After this long undelivered, an event is given up (kept in the outbox, marked). */
  giveUpAfterMs?: number;
}

const DEFAULT_RETRY = { baseDelayMs: 2_000, maxDelayMs: 10 * 60_000 };
const DEFAULT_GIVE_UP_MS = 3 * 24 * 3600_000;
/** Events delivered at once (to different URLs: one URL hears them one at a time, in order). */
const PARALLEL_DELIVERIES = 4;

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private readonly inflight = new Set<AbortController>();
  private readonly retry: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;

  constructor(
    private readonly jobs: JobStore,
    readonly outbox: OutboxStore,
    private readonly opts: WebhookOptions = {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 1_000);
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const c of this.inflight) c.abort();
    await this.busy;
  }

  /** Folders with settled jobs not yet reported as a batch: the watcher tells us when each goes idle. */
  foldersWithOpenBatches(): number[] {
    return this.outbox.foldersWithOpenBatches();
  }

  /**
   * The folder went idle (nothing arriving, nothing unfinished): its jobs settled since it was last
   * idle become one batch.done. Returns true when an event was queued.
   */
  folderIdle(folder: FolderRef & { webhookUrl: string | null }): boolean {
    // Settled jobs not collected yet belong in this batch.
    this.collectSettled();
    const queued = this.outbox.closeBatch(folder.id, (batch) => {
      const jobs = batch.jobIds.map((id) => this.jobs.getJob(id)).filter((j) => j !== undefined);
      if (!folder.webhookUrl || jobs.length === 0) return null;
      return { kind: 'batch.done', url: folder.webhookUrl, payload: batchPayload({ ...batch, jobs }, { id: folder.id, path: folder.path }, Date.now()) };
    });
    if (queued) this.tick();
    return queued;
  }

  /**
   * Queues the events of the jobs settled since the last look, now. Called before a job's tie to its
   * folder (its watched-file record) is retired, as a clean-up after delivery does: without the
   * tie the job's events would belong to no folder, and no webhook would hear of them.
   */
  collectSettled(): void {
    this.outbox.collectSettledJobs((e) => this.eventsFor(e));
  }

  /** Turns newly settled jobs into events and delivers what is due; one pass at a time. */
  tick(): void {
    if (this.busy) return;
    this.busy = this.pass()
      .catch((err) => process.emitWarning(`hoist webhooks: ${(err as Error).message}`))
      .finally(() => (this.busy = null));
  }

  private async pass(): Promise<void> {
    this.collectSettled();
    const due = this.outbox.due(PARALLEL_DELIVERIES);
    await Promise.all(due.map((item) => this.deliver(item)));
  }

  private eventsFor(e: SettledJobEvent): Array<{ kind: WebhookKind; url: string; payload: object }> {
    const job = this.jobs.getJob(e.jobId);
    if (!job) return [];
    const payload = jobPayload({ ...job, state: e.kind === 'done' ? 'done' : 'failed' }, { id: e.folderId, path: e.folderPath }, e.at);
    return [{ kind: payload.type, url: e.url, payload }];
  }

  private async deliver(item: OutboxItem): Promise<void> {
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${(this.opts.timeoutMs ?? 10_000) / 1000} s`)), this.opts.timeoutMs ?? 10_000);
    let error: string | null = null;
    try {
      const res = await fetch(item.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-hoist-event': item.kind,
          // The same id on every attempt: a receiver that saw it already (its answer was lost) can tell.
          'x-hoist-event-id': item.id,
          'x-hoist-delivery-attempt': String(item.attempts + 1),
        },
        body: item.payload,
        signal: controller.signal,
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status} ${res.statusText}`.trim();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      error = controller.signal.aborted ? String((controller.signal.reason as Error)?.message ?? 'aborted') : (cause?.code ?? cause?.message ?? (err as Error).message);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
    if (error === null) {
      this.outbox.markDelivered(item.id);
      return;
    }
    if (Date.now() - item.createdAt > (this.opts.giveUpAfterMs ?? DEFAULT_GIVE_UP_MS)) {
      this.outbox.markGivenUp(item.id, error);
      process.emitWarning(`hoist webhooks: gave up delivering ${item.kind} ${item.id} to ${item.url} after ${item.attempts + 1} attempts (${error})`);
      return;
    }
    this.outbox.markFailed(item.id, error, Date.now() + backoffDelay(item.attempts + 1, this.retry));
  }
}
