// The outbox webhook events wait in until a receiver takes them, and the batches of jobs they
// report: the SQL behind webhooks (issue 8), beside JobStore on the same database. Each event is
// owed work (store/owed-store.ts) of kind `webhook`: its subject is the event id, its scope the URL
// (one URL hears its events in order); delivered and given-up events stay, for `hoist webhooks`.
import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';
import type { OwedItem, OwedWorkStore } from './owed-store.js';

/** Owed work of this kind: one event to POST. */
export const WEBHOOK = 'webhook';
export interface WebhookPayload {
  url: string;
  event: WebhookKind;
  /** The JSON body, as sent on every attempt. */
  body: string;
}

export type WebhookKind = 'job.done' | 'job.failed' | 'batch.done' | 'source.kept';

/** An event waiting for (or past) delivery. `id` is the stable event id receivers de-duplicate on. */
export interface OutboxItem {
  id: string;
  url: string;
  kind: WebhookKind;
  payload: string;
  createdAt: number;
  attempts: number;
  availableAt: number;
  deliveredAt: number | null;
  givenUpAt: number | null;
  lastError: string | null;
}

/** A settled job from the history that a folder's webhook should hear of. */
export interface SettledJobEvent {
  eventId: number;
  jobId: number;
  kind: 'done' | 'failed';
  at: number;
  folderId: number;
  folderPath: string;
  url: string;
}

type Row = Record<string, unknown>;

export function toOutboxItem(o: OwedItem<WebhookPayload>): OutboxItem {
  return {
    id: o.subject,
    url: o.payload.url,
    kind: o.payload.event,
    payload: o.payload.body,
    createdAt: o.createdAt,
    attempts: o.attempts,
    availableAt: o.availableAt,
    deliveredAt: o.state === 'done' ? o.settledAt : null,
    givenUpAt: o.state === 'given-up' ? o.settledAt : null,
    lastError: o.lastError,
  };
}

export class OutboxStore {
  private readonly s;

  constructor(
    readonly db: Db,
    private readonly owed: OwedWorkStore,
    private readonly now: () => number = Date.now,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      setWebhook: p('UPDATE watched_folders SET webhook_url = ? WHERE id = ?'),
      cursor: p('SELECT last_event_id FROM webhook_cursor WHERE id = 1'),
      moveCursor: p('UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1'),
      lastEventId: p('SELECT max(id) AS id FROM (SELECT id FROM job_events WHERE id > ? ORDER BY id LIMIT ?) AS recent'),
      // The folder of a job is the watched file that points at it (one job, one file, one folder).
      settled: p(`SELECT e.id AS event_id, e.job_id, e.kind, e.at, f.id AS folder_id, f.path AS folder_path, f.webhook_url AS url
                  FROM job_events e
                  JOIN watched_files wf ON wf.job_id = e.job_id
                  JOIN watched_folders f ON f.id = wf.folder_id
                  WHERE e.id > ? AND e.id <= ? AND e.kind IN ('done', 'failed') AND f.webhook_url IS NOT NULL
                  ORDER BY e.id`),
      openBatch: p('SELECT id, opened_at FROM webhook_batches WHERE folder_id = ? AND closed_at IS NULL'),
      newBatch: p('INSERT INTO webhook_batches (folder_id, opened_at) VALUES (?, ?) RETURNING id'),
      addToBatch: p('INSERT OR IGNORE INTO webhook_batch_jobs (batch_id, job_id) VALUES (?, ?)'),
      closeBatch: p('UPDATE webhook_batches SET closed_at = ? WHERE id = ? AND closed_at IS NULL'),
      batchJobs: p('SELECT job_id FROM webhook_batch_jobs WHERE batch_id = ? ORDER BY job_id'),
      foldersWithOpenBatches: p('SELECT folder_id FROM webhook_batches WHERE closed_at IS NULL'),
    };
  }

  /** Sets (or, with null, removes) the folder's webhook; events already queued still go to their URL. */
  setWebhook(folderId: number, url: string | null): boolean {
    return this.s.setWebhook.run(url, folderId).changes === 1;
  }

  // ---- turning the job history into events ----

  /**
   * Hands the settled jobs recorded since the last call to `enqueue` and moves the cursor past them,
   * in one transaction: an event is queued exactly once, even across a crash.
   */
  collectSettledJobs(enqueue: (e: SettledJobEvent) => Array<{ kind: WebhookKind; url: string; payload: object }>, batchSize = 500): number {
    return this.db.transaction(() => {
      const from = (this.s.cursor.get() as { last_event_id: number }).last_event_id;
      const upTo = (this.s.lastEventId.get(from, batchSize) as { id: number | null }).id;
      if (upTo === null) return 0;
      let queued = 0;
      for (const r of this.s.settled.all(from, upTo) as Row[]) {
        const event: SettledJobEvent = {
          eventId: r.event_id as number,
          jobId: r.job_id as number,
          kind: r.kind as 'done' | 'failed',
          at: r.at as number,
          folderId: r.folder_id as number,
          folderPath: r.folder_path as string,
          url: r.url as string,
        };
        for (const out of enqueue(event)) queued += this.insert(out.kind, out.url, out.payload) ? 1 : 0;
        this.s.addToBatch.run(this.openBatchOf(event.folderId, event.at).id, event.jobId);
      }
      this.s.moveCursor.run(upTo);
      return queued;
    })();
  }

  /** Queues one event; its id is made here, once, and travels with every delivery attempt. */
  insert(kind: WebhookKind, url: string, payload: object & { id?: string }): string {
    const id = payload.id ?? randomUUID();
    this.owed.owe<WebhookPayload>(WEBHOOK, id, { url, event: kind, body: JSON.stringify({ ...payload, id }) }, { scope: url });
    return id;
  }

  // ---- batches: what a folder settled since it was last idle ----

  private openBatchOf(folderId: number, at: number): { id: number; openedAt: number } {
    const open = this.s.openBatch.get(folderId) as { id: number; opened_at: number } | undefined;
    if (open) return { id: open.id, openedAt: open.opened_at };
    return { id: (this.s.newBatch.get(folderId, at) as { id: number }).id, openedAt: at };
  }

  /** Folders whose settled jobs have not been reported as a batch yet. */
  foldersWithOpenBatches(): number[] {
    return (this.s.foldersWithOpenBatches.all() as { folder_id: number }[]).map((r) => r.folder_id);
  }

  /**
   * Closes the folder's open batch and queues what `event` makes of it, in one transaction, so a
   * batch is reported exactly once. Returns false when there was nothing to report.
   */
  closeBatch(folderId: number, event: (batch: { id: number; openedAt: number; jobIds: number[] }) => { kind: WebhookKind; url: string; payload: object } | null): boolean {
    return this.db.transaction(() => {
      const open = this.s.openBatch.get(folderId) as { id: number; opened_at: number } | undefined;
      if (!open) return false;
      const jobIds = (this.s.batchJobs.all(open.id) as { job_id: number }[]).map((r) => r.job_id);
      this.s.closeBatch.run(this.now(), open.id);
      const out = event({ id: open.id, openedAt: open.opened_at, jobIds });
      if (out) this.insert(out.kind, out.url, out.payload);
      return out !== null;
    })();
  }

  // ---- what was delivered, what is owed ----

  get(id: string): OutboxItem | undefined {
    const [o] = this.owed.list<WebhookPayload>({ kind: WEBHOOK, subject: id });
    return o ? toOutboxItem(o) : undefined;
  }

  /** Every event, delivered, owed or given up, oldest first. */
  all(): OutboxItem[] {
    return this.owed.list<WebhookPayload>({ kind: WEBHOOK }).map(toOutboxItem);
  }

  /** The Retry a person asks for: these events (null: every one given up) are owed again and due now. */
  retry(ids: readonly string[] | null): number {
    return this.owed.retryNow(WEBHOOK, ids);
  }

  undeliveredCount(): number {
    return this.owed.count({ kind: WEBHOOK, states: ['owed'] });
  }
}
