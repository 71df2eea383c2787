// The processes that work one shared queue (issue 15, docs/architecture.md "The cluster"): each
// registers a row at start and heartbeats it while it works; `hoist nodes` lists them. A node whose
// heartbeat is older than the lease is 'stale' (dead, or cut off): its job leases expire with it
// and other nodes take its jobs over (job-leases.ts).
import os from 'node:os';
import type { Db } from './db.js';
import type { Row } from './rows.js';

/** Working (heartbeating), stale (no heartbeat within the lease: dead or cut off), or stopped (closed cleanly). */
export type NodeState = 'working' | 'stale' | 'stopped';

export interface NodeRecord {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
  /** Jobs whose lease it holds (running or completing). */
  holds: number;
  state: NodeState;
  /** What it last published of the limits it shares (pacing/cluster-share.ts reads it; null: it asks nothing). */
  demands: string | null;
}

export class NodeStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers this process on its machine (default: the hostname; or registers it again after it stopped or was forgotten). */
  register(id: string, host: string = os.hostname()): void {
    const now = this.now();
    this.db
      .prepare(`INSERT INTO nodes (id, host, pid, started_at, heartbeat_at, state) VALUES (?, ?, ?, ?, ?, 'working')
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, state = 'working'`)
      .run(id, host, process.pid, now, now);
  }

  /** Says this node is alive; false when its row is gone (forgotten as stale by another node): register again. */
  heartbeat(id: string): boolean {
    return this.db.prepare(`UPDATE nodes SET heartbeat_at = ?, state = 'working' WHERE id = ?`).run(this.now(), id).changes === 1;
  }

  /** Closed cleanly: its leases were given back. */
  stopped(id: string): void {
    this.db.prepare(`UPDATE nodes SET state = 'stopped', heartbeat_at = ? WHERE id = ?`).run(this.now(), id);
  }

  /** Every node known, with the jobs it holds; one without a heartbeat for `staleAfterMs` is 'stale'. */
  list(staleAfterMs: number): NodeRecord[] {
    const now = this.now();
    const rows = this.db
      .prepare(`SELECT n.*, (SELECT count(*) FROM jobs j WHERE j.lease_owner = n.id AND j.state IN ('running', 'completing')) AS holds
                FROM nodes n ORDER BY n.started_at, n.id`)
      .all() as Row[];
    return rows.map((r) => ({
      id: r.id as string,
      host: r.host as string,
      pid: Number(r.pid),
      startedAt: Number(r.started_at),
      heartbeatAt: Number(r.heartbeat_at),
      holds: Number(r.holds),
      state: r.state === 'stopped' ? 'stopped' : now - Number(r.heartbeat_at) >= staleAfterMs ? 'stale' : 'working',
      demands: typeof r.demands === 'string' ? r.demands : null,
    }));
  }

  /** Other nodes heartbeating within `staleAfterMs`. */
  liveOthers(id: string, staleAfterMs: number): number {
    const r = this.db.prepare(`SELECT count(*) AS n FROM nodes WHERE id <> ? AND state = 'working' AND heartbeat_at > ?`).get(id, this.now() - staleAfterMs) as { n: number };
    return Number(r.n);
  }

  /** Publishes what this node asks of the bandwidth limits (pacing/cluster-share.ts); null: it asks nothing. */
  publishDemands(id: string, demands: string | null): void {
    this.db.prepare('UPDATE nodes SET demands = ?, demands_at = ? WHERE id = ?').run(demands, this.now(), id);
  }

  /** The demands of the other nodes working now: heartbeat and publication both within `staleAfterMs`. */
  peerDemands(id: string, staleAfterMs: number): string[] {
    const since = this.now() - staleAfterMs;
    return this.db
      .prepare(`SELECT demands FROM nodes WHERE id <> ? AND state = 'working' AND heartbeat_at > ? AND demands_at > ? AND demands IS NOT NULL ORDER BY id`)
      .pluck()
      .all(id, since, since) as string[];
  }

  /**
   * Frees the owed-work claims (aborts, clean-ups, webhooks, ASC MHL) of nodes silent for
   * `claimsAfterMs`, so another node works them without waiting out the claim, and forgets nodes
   * stopped or silent for `rowsAfterMs` that hold no job. Returns how many nodes were forgotten.
   */
  forgetStale(claimsAfterMs: number, rowsAfterMs: number): number {
    const now = this.now();
    return this.db.transaction(() => {
      this.db
        .prepare(`UPDATE owed_work SET locked_by = NULL, locked_until = NULL
                  WHERE locked_by IN (SELECT id FROM nodes WHERE heartbeat_at < ? OR state = 'stopped')`)
        .run(now - claimsAfterMs);
      return this.db
        .prepare(`DELETE FROM nodes WHERE heartbeat_at < ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.lease_owner = nodes.id AND j.state IN ('running', 'completing'))`)
        .run(now - rowsAfterMs).changes;
    })();
  }
}
