// Delivers webhook events from the persistent outbox: each event is POSTed until a receiver
// answers 2xx, with back-off, across restarts, always under the same event id.
import type { JobStore } from '../store/job-store.js';
import type { OwedItem } from '../store/owed-store.js';
import { WEBHOOK, type OutboxStore, type SettledJobEvent, type WebhookKind, type WebhookPayload } from '../store/outbox-store.js';
import type { AttemptContext, OwedResult, OwedRunner } from '../owed/runner.js';
import type { RetryPolicy } from '../backoff.js';
import { USER_AGENT } from '../app-info.js';
import { batchPayload, jobPayload, type FolderRef } from './webhook-payloads.js';
import type { WebhookSecrets } from './webhook-secrets.js';

export interface WebhookOptions {
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

/**
 * Turns settled jobs and idle folders into webhook events in the outbox, and delivers them as
 * owed work (owed/runner.ts): each is POSTed until a receiver answers 2xx, with back-off, across
 * restarts, always under the same event id.
 */
export class WebhookDispatcher {
  constructor(
    private readonly jobs: JobStore,
    readonly outbox: OutboxStore,
    private readonly runner: OwedRunner,
    /** The folders' signing secrets (webhook-secrets.ts): every event is signed with its folder's. */
    readonly secrets: WebhookSecrets,
    private readonly opts: WebhookOptions = {},
  ) {
    runner.register<WebhookPayload>(WEBHOOK, {
      retry: { ...DEFAULT_RETRY, ...opts.retry },
      giveUpAfterMs: opts.giveUpAfterMs ?? DEFAULT_GIVE_UP_MS,
      concurrency: PARALLEL_DELIVERIES,
      batch: PARALLEL_DELIVERIES,
      inOrder: true,
      // Newly settled jobs become events before each look at the outbox.
      prepare: () => this.collectSettled(),
      handle: (item, ctx) => this.deliver(item, ctx),
    });
  }

  /** A folder got a webhook: it gets its signing secret now (once), so the receiver can be configured before the first event. */
  ensureSecret(folderId: number): void {
    this.secrets.ensure(folderId);
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
    if (queued) this.runner.poke(WEBHOOK);
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

  private eventsFor(e: SettledJobEvent): Array<{ kind: WebhookKind; url: string; payload: object }> {
    const job = this.jobs.getJob(e.jobId);
    if (!job) return [];
    const payload = jobPayload({ ...job, state: e.kind === 'done' ? 'done' : 'failed' }, { id: e.folderId, path: e.folderPath }, e.at);
    return [{ kind: payload.type, url: e.url, payload }];
  }

  private async deliver(item: OwedItem<WebhookPayload>, ctx: AttemptContext): Promise<OwedResult> {
    const { url, event, body } = item.payload;
    const controller = new AbortController();
    const stop = () => controller.abort(new Error('Hoist stopped'));
    ctx.signal.addEventListener('abort', stop);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    let error: string | null = null;
    try {
      // Signed at each attempt, with its own time, so a receiver can refuse an old request played again.
      const folderId = folderIdOf(body);
      const signature = folderId === null ? {} : this.secrets.sign(folderId, body);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-hoist-event': event,
          // The same id on every attempt: a receiver that saw it already (its answer was lost) can tell.
          'x-hoist-event-id': item.subject,
          'x-hoist-delivery-attempt': String(ctx.attempt),
          ...signature,
        },
        body,
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
      ctx.signal.removeEventListener('abort', stop);
    }
    return error === null ? { outcome: 'settled' } : { outcome: 'failed', error };
  }
}

/** The folder an event belongs to, from its body (every event Hoist makes names it; null for one that does not). */
function folderIdOf(body: string): number | null {
  try {
    const id = (JSON.parse(body) as { folder?: { id?: unknown } } | null)?.folder?.id;
    return typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}
