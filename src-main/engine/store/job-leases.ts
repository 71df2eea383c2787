// Per-job leases of a shared queue (issue 15, docs/architecture.md "The cluster"): the node that
// claims a queued job holds it until `lease_until` and renews that at every heartbeat; a running job
// whose lease expired (its node died or was cut off) goes back to the queue (unsent parts waiting
// again, what was recorded kept) and any node claims it; prepare.ts then reconciles the upload with
// ListParts and sends only the parts not recorded.
import type { Db } from './db.js';
import type { JobRows } from './job-rows.js';
import type { PartRows } from './part-rows.js';
import { READABLE_BY } from './folder-paths.js';

/** 'sqlite' unless the database says otherwise (the PostgreSQL adapter says 'pg'). */
export function dialectOf(db: Db): 'sqlite' | 'pg' {
  return (db as unknown as { dialect?: 'sqlite' | 'pg' }).dialect ?? 'sqlite';
}

export class JobLeases {
  /** PostgreSQL: a row another node is claiming is skipped, not waited for; SQLite has one writer at a time. */
  private readonly skipLocked: string;
  private readonly dialect: 'sqlite' | 'pg';

  constructor(
    private readonly db: Db,
    private readonly jobs: Pick<JobRows, 'addEvent'>,
    private readonly parts: PartRows,
    private readonly now: () => number,
  ) {
    this.dialect = dialectOf(db);
    this.skipLocked = this.dialect === 'pg' ? ' FOR UPDATE SKIP LOCKED' : '';
  }

  /**
   * Takes a queued job for `owner` until now + leaseMs, in one statement; false when it is no longer
   * queued, another node is claiming it, or (with `machine`) that machine cannot read its source
   * (folder-paths.ts READABLE_BY).
   */
  claim(jobId: number, owner: string, leaseMs: number, machine?: string, oneWriter = true): boolean {
    const now = this.now();
    const readable = machine === undefined ? '' : ` AND ${READABLE_BY}`;
    const keyFree = oneWriter
      ? ` AND NOT EXISTS (SELECT 1 FROM jobs w WHERE w.destination_id = j.destination_id AND w.key = j.key AND w.id <> j.id
                          AND w.state IN ('running', 'completing') AND w.lease_owner IS NOT NULL AND w.lease_until > ?)`
      : '';
    return this.db.transaction(() => {
      // One writer per key across the nodes (invariant 12; one node's scheduler keeps it among its own
      // jobs): a job is not claimed while another job for the same destination and key runs under a
      // live lease. On PostgreSQL two nodes claiming two such jobs at once would each see the other
      // not yet running (READ COMMITTED, different rows), so the claim first takes a transaction lock
      // on the key: the second waits until the first committed, and its UPDATE (a new snapshot) sees it.
      // SQLite has one writer at a time.
      // The lock is its own statement, not folded into the UPDATE (which reads the key again): under
      // READ COMMITTED a statement's snapshot is taken when it starts, so an UPDATE that waited on the
      // lock inside itself would still check NOT EXISTS against rows as they were before the other
      // node's claim committed, and both would pass (and SQL promises no order of a WHERE's terms).
      if (oneWriter && this.dialect === 'pg') {
        this.db.prepare(`SELECT pg_advisory_xact_lock(hashtextextended((SELECT destination_id::text || '/' || key FROM jobs WHERE id = ?), 0)) AS locked`).get(jobId);
      }
      return this.db
        .prepare(`UPDATE jobs SET state = 'running', updated_at = ?, started_at = coalesce(started_at, ?), finished_at = NULL, cleared_at = NULL,
                    lease_owner = ?, lease_until = ?
                  WHERE id IN (SELECT j.id FROM jobs j WHERE j.id = ? AND j.state = 'queued'${readable}${keyFree}${this.skipLocked})
                    AND state = 'queued'`)
        .run(now, now, owner, now + leaseMs, jobId, ...(machine === undefined ? [] : [machine, machine]), ...(oneWriter ? [now] : [])).changes === 1;
    })();
  }

  /**
   * Renews the leases `owner` holds on running jobs; returns which of `jobIds` it no longer holds
   * (another node took them over after the lease expired): their parts must stop here.
   */
  renew(owner: string, jobIds: readonly number[], leaseMs: number): number[] {
    const now = this.now();
    return this.db.transaction(() => {
      this.db.prepare(`UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND state IN ('running', 'completing')`).run(now + leaseMs, owner);
      if (jobIds.length === 0) return [];
      const rows = this.db
        .prepare(`SELECT id, lease_owner FROM jobs WHERE id IN (${jobIds.map(() => '?').join(',')})`)
        .all(...jobIds) as Array<{ id: number; lease_owner: string | null }>;
      const held = new Set(rows.filter((r) => r.lease_owner === owner).map((r) => Number(r.id)));
      return jobIds.filter((id) => !held.has(id));
    })();
  }

  /**
   * Running jobs whose lease expired (none of `except`, the ones open here) go back to the queue,
   * one compare-and-set each, with a history entry naming the node that held them. Returns their ids.
   */
  takeOverExpired(except: ReadonlySet<number>): number[] {
    const now = this.now();
    const expired = this.db
      .prepare(`SELECT j.id, j.lease_owner, n.host, n.pid FROM jobs j LEFT JOIN nodes n ON n.id = j.lease_owner
                WHERE j.state IN ('running', 'completing') AND j.lease_until IS NOT NULL AND j.lease_until < ?`)
      .all(now) as Array<{ id: number; lease_owner: string; host: string | null; pid: number | null }>;
    const taken: number[] = [];
    for (const r of expired) {
      const id = Number(r.id);
      if (except.has(id)) continue;
      const ok = this.db.transaction(() => {
        const changed = this.db
          .prepare(`UPDATE jobs SET state = 'queued', available_at = 0, updated_at = ?, lease_owner = NULL, lease_until = NULL
                    WHERE id = ? AND lease_owner = ? AND lease_until < ? AND state IN ('running', 'completing')`)
          .run(now, id, r.lease_owner, now).changes === 1;
        if (!changed) return false;
        this.parts.unsentToPending(now, id);
        const who = r.host ? `pid ${r.pid} on ${r.host}` : `node ${r.lease_owner}`;
        this.jobs.addEvent(id, 'taken-over', `The lease of ${who} expired (the process died or lost the database): back in the queue; the parts it recorded are kept.`);
        return true;
      })();
      if (ok) taken.push(id);
    }
    return taken;
  }

  /** Whether a live lease of another node than `owner` holds a job of this upload: its parts may be on the wire there. */
  heldElsewhere(uploadId: string, owner: string): boolean {
    return this.db
      .prepare('SELECT 1 FROM jobs WHERE upload_id = ? AND lease_owner IS NOT NULL AND lease_owner <> ? AND lease_until > ? LIMIT 1')
      .get(uploadId, owner, this.now()) !== undefined;
  }

  /** This node stops working the jobs it holds among `jobIds`: back to the queue, unsent parts waiting again. */
  release(owner: string, jobIds: readonly number[]): number {
    const now = this.now();
    return this.db.transaction(() => {
      let changed = 0;
      for (const id of jobIds) {
        const n = this.db
          .prepare(`UPDATE jobs SET state = 'queued', available_at = 0, updated_at = ?, lease_owner = NULL, lease_until = NULL
                    WHERE id = ? AND lease_owner = ? AND state IN ('running', 'completing')`)
          .run(now, id, owner).changes;
        if (n === 1) this.parts.unsentToPending(now, id);
        changed += n;
      }
      return changed;
    })();
  }
}
