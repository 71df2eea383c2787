// A shared queue's stand-in for the runner lease (issue 15, docs/architecture.md "The cluster").
// Every node works the queue at once, so there is nothing to wait for: the LeaseKeeper (lease.ts)
// asks this instead of runner_lease, and each ask registers or heartbeats this node's row. What it
// still decides is when to stop: a node that cannot reach the database for half a lease stops all
// its work (its job leases are about to expire, and another node will take the jobs over), and
// starts it again once the database answers.
import { NO_DATABASE, type LeaseAnswer, type LeaseStore } from './lease.js';
import { logger } from './log.js';
import type { NodeStore } from './store/node-store.js';

const log = logger('node');

/** Nodes stopped or silent this long, holding nothing, are forgotten (`hoist nodes` stops listing them). */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

export { NO_DATABASE };

export class NodeLease implements LeaseStore {
  private lastOk: number;
  /** Set from the moment this node stopped for want of the database until it answers: said once, not at every heartbeat. */
  private silentSince: number | null = null;

  constructor(
    private readonly nodes: NodeStore,
    private readonly leaseMs: number,
    /** The machine's name it registers as (its `host`). */
    private readonly machine: string,
    private readonly now: () => number = Date.now,
  ) {
    this.lastOk = now();
  }

  acquireLease(owner: string): LeaseAnswer {
    try {
      if (!this.nodes.heartbeat(owner)) this.nodes.register(owner, this.machine);
      this.nodes.forgetStale(this.leaseMs * 2, Math.max(FORGET_AFTER_MS, this.leaseMs * 2));
      this.lastOk = this.now();
      if (this.silentSince !== null) log.info(`the database answers again after ${this.now() - this.silentSince} ms without a heartbeat: starting this node's work again`);
      this.silentSince = null;
      return { ok: true };
    } catch (err) {
      const silent = this.now() - this.lastOk;
      if (silent < this.leaseMs / 2) throw err;
      if (this.silentSince === null) log.info(`no heartbeat for ${silent} ms (${(err as Error).message}): stopping this node's work until the database answers`);
      this.silentSince ??= this.lastOk;
      return { ok: false, pid: 0, host: NO_DATABASE };
    }
  }

  releaseLease(owner: string): void {
    this.nodes.stopped(owner);
  }
}
