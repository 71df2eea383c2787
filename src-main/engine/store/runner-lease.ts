// The runner lease: one process works a database's queue at a time (heartbeat, stale after a while,
// taken at once from a dead process on the same host).
import os from 'node:os';
import type { Db } from './db.js';
import type { Row } from './rows.js';

export type LeaseAnswer = { ok: true } | { ok: false; pid: number; host: string };

export class RunnerLease {
  constructor(private readonly db: Db, private readonly now: () => number) {}

  /** Takes or renews the lease; returns the holder when another live process has it. */
  acquire(owner: string, staleAfterMs: number): LeaseAnswer {
    const now = this.now();
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM runner_lease WHERE id = 1').get() as Row | undefined;
      if (row && row.owner !== owner && now - (row.heartbeat_at as number) < staleAfterMs && leaseHolderAlive(row)) {
        return { ok: false as const, pid: row.pid as number, host: row.host as string };
      }
      this.db
        .prepare(`INSERT INTO runner_lease (id, owner, pid, host, heartbeat_at) VALUES (1, ?, ?, ?, ?)
                  ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, host = excluded.host, heartbeat_at = excluded.heartbeat_at`)
        .run(owner, process.pid, os.hostname(), now);
      return { ok: true as const };
    }).immediate();
  }

  release(owner: string): void {
    this.db.prepare('DELETE FROM runner_lease WHERE id = 1 AND owner = ?').run(owner);
  }
}

/** A lease held by a dead process on this host can be taken at once. */
function leaseHolderAlive(row: Row): boolean {
  if (row.host !== os.hostname()) return true;
  try {
    process.kill(row.pid as number, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
