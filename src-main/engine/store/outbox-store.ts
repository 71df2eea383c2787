// Webhook URLs per watched folder and the outbox their events wait in until a receiver takes
// them: the SQL behind webhooks (issue 8), beside JobStore on the same database.
import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';

export type WebhookKind = 'job.done' | 'job.failed' | 'batch.done';

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

function toItem(r: Row): OutboxItem {
  return {
    id: r.id as string,
    url: r.url as string,
    kind: r.kind as WebhookKind,
    payload: r.payload as string,
    createdAt: r.created_at as number,
    attempts: r.attempts as number,
    availableAt: r.available_at as number,
    deliveredAt: (r.delivered_at as number | null) ?? null,
    givenUpAt: (r.given_up_at as number | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
  };
}

export class OutboxStore {
  private readonly s;

  constructor(readonly db: Db, private readonly now: () => number = Date.now) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      webhookOf: p('SELECT url FROM folder_webhooks WHERE folder_id = ?'),
      setWebhook: p('INSERT INTO folder_webhooks (folder_id, url) VALUES (?, ?) ON CONFLICT(folder_id) DO UPDATE SET url = excluded.url'),
      clearWebhook: p('DELETE FROM folder_webhooks WHERE folder_id = ?'),
      cursor: p('SELECT last_event_id FROM webhook_cursor WHERE id = 1'),
      moveCursor: p('UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1'),
      lastEventId: p('SELECT max(id) AS id FROM (SELECT id FROM job_events WHERE id > ? ORDER BY id LIMIT ?)'),
      // The folder of a job is the watched file that points at it (one job, one file, one folder).
      settled: p(`SELECT e.id AS event_id, e.job_id, e.kind, e.at, f.id AS folder_id, f.path AS folder_path, w.url
                  FROM job_events e
                  JOIN watched_files wf ON wf.job_id = e.job_id
                  JOIN watched_folders f ON f.id = wf.folder_id
                  JOIN folder_webhooks w ON w.folder_id = f.id
                  WHERE e.id > ? AND e.id <= ? AND e.kind IN ('done', 'failed')
                  ORDER BY e.id`),
      insert: p(`INSERT INTO webhook_outbox (id, url, kind, payload, created_at, available_at) VALUES (?, ?, ?, ?, ?, 0)`),
      // Oldest first per URL: a receiver hears of events in the order they happened.
      due: p(`SELECT * FROM webhook_outbox o WHERE delivered_at IS NULL AND given_up_at IS NULL AND available_at <= ?
              AND NOT EXISTS (SELECT 1 FROM webhook_outbox older WHERE older.url = o.url AND older.delivered_at IS NULL
                              AND older.given_up_at IS NULL AND older.rowid < o.rowid)
              ORDER BY rowid LIMIT ?`),
      byId: p('SELECT * FROM webhook_outbox WHERE id = ?'),
      all: p('SELECT * FROM webhook_outbox ORDER BY rowid'),
      delivered: p('UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?'),
      failed: p('UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, available_at = ? WHERE id = ?'),
      givenUp: p('UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, given_up_at = ? WHERE id = ?'),
      undelivered: p('SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL AND given_up_at IS NULL'),
    };
  }

  // ---- folder settings ----

  webhookOf(folderId: number): string | null {
    return (this.s.webhookOf.get(folderId) as { url: string } | undefined)?.url ?? null;
  }

  setWebhook(folderId: number, url: string | null): void {
    if (url === null) this.s.clearWebhook.run(folderId);
    else this.s.setWebhook.run(folderId, url);
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
      }
      this.s.moveCursor.run(upTo);
      return queued;
    })();
  }

  /** Queues one event; its id is made here, once, and travels with every delivery attempt. */
  insert(kind: WebhookKind, url: string, payload: object & { id?: string }): string {
    const id = payload.id ?? randomUUID();
    this.s.insert.run(id, url, kind, JSON.stringify({ ...payload, id }), this.now());
    return id;
  }

  // ---- delivering ----

  due(limit: number): OutboxItem[] {
    return (this.s.due.all(this.now(), limit) as Row[]).map(toItem);
  }

  get(id: string): OutboxItem | undefined {
    const r = this.s.byId.get(id) as Row | undefined;
    return r ? toItem(r) : undefined;
  }

  all(): OutboxItem[] {
    return (this.s.all.all() as Row[]).map(toItem);
  }

  markDelivered(id: string): void {
    this.s.delivered.run(this.now(), id);
  }

  markFailed(id: string, error: string, retryAt: number): void {
    this.s.failed.run(error, retryAt, id);
  }

  markGivenUp(id: string, error: string): void {
    this.s.givenUp.run(error, this.now(), id);
  }

  undeliveredCount(): number {
    return (this.s.undelivered.get() as { n: number }).n;
  }
}
