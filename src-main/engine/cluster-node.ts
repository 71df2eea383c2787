// This process as one node of a queue shared with other processes (issue 15, docs/architecture.md
// "The cluster"): who it is, how long its leases last, what it registers and heartbeats instead of
// the runner lease, and its share of every limit. The engine builds one on a shared queue (PostgreSQL,
// or HOIST_SHARED_QUEUE on SQLite) and hands each part only what it needs of it.
import { DEFAULT_LEASE_TIMING, type LeaseStore, type LeaseTiming } from './lease.js';
import { NodeLease } from './node-lease.js';
import { ClusterShare, laneScope, scopeRanks, type Demand } from './pacing/cluster-share.js';
import type { SharedQueueOptions } from './scheduler/shared-queue.js';
import type { NodeStore } from './store/node-store.js';
import type { JobLease } from './store/watched-jobs.js';

/** What the node publishes of its scheduler's work (the Scheduler). */
export interface NodeWork {
  /** What each destination's lane asked of its share of parts in flight since the last call. */
  laneDemands(): ReadonlyMap<number, Demand>;
  /** The best rank (PRIORITY_RANK) of the work per destination: the jobs open there. */
  destinationRanks(): ReadonlyMap<number, number>;
}

export class ClusterNode {
  /** This node's share of each bandwidth limit and of each destination's parts in flight. */
  readonly share: ClusterShare;

  constructor(
    private readonly nodes: NodeStore,
    /** This node's id: its row in `nodes`, the owner of the job leases it holds. */
    readonly owner: string,
    /** The machine it runs on (machine.ts): it claims only jobs whose source that machine can read. */
    readonly machine: string,
    /** A node or job lease not renewed for this long is taken over. */
    readonly leaseMs: number,
  ) {
    this.share = new ClusterShare(nodes, owner, leaseMs);
  }

  /** What the scheduler needs to claim, renew and recover jobs beside the other nodes. */
  get scheduler(): SharedQueueOptions {
    return { owner: this.owner, machine: this.machine, leaseMs: this.leaseMs, liveOthers: () => this.nodes.liveOthers(this.owner, this.leaseMs) };
  }

  /** The lease the watcher holds its own jobs with (a rename's copy). */
  get jobLease(): JobLease {
    return { owner: this.owner, leaseMs: this.leaseMs };
  }

  /** What the LeaseKeeper asks instead of the runner lease: this node's row, registered and heartbeated (node-lease.ts). */
  leaseStore(): LeaseStore {
    return new NodeLease(this.nodes, this.leaseMs, this.machine);
  }

  /** Heartbeats four times per lease at least, so a live node never looks dead to the others. */
  leaseTiming(asked?: Partial<LeaseTiming>): Partial<LeaseTiming> {
    return { heartbeatMs: Math.min(DEFAULT_LEASE_TIMING.heartbeatMs, this.leaseMs / 4), ...asked };
  }

  /** This node's share, in whole parts in flight, of a destination's concurrency `ceiling`. */
  slotsOf(destinationId: number, ceiling: number): number {
    return this.share.slotsOf(laneScope(destinationId), ceiling);
  }

  /**
   * Publishes with every exchange what this node's lanes ask of each destination's concurrency, and
   * the rank of its work per destination (for that destination's limits and the global one).
   */
  follow(work: NodeWork): void {
    this.share.addSource(() => new Map([...work.laneDemands()].map(([id, d]) => [laneScope(id), d])));
    this.share.rankBy(() => scopeRanks(work.destinationRanks()));
  }
}
