// A bandwidth limit is the cluster's, not each node's (issue 15, docs/architecture.md "The cluster").
// Every second each node publishes, per limit in force, what it asks of it (its demand): the bytes
// per second it sent through that limit's bucket, or 'more' when the bucket held a sender back
// (it would send faster). From the other live nodes' demands each node sets its own bucket to its
// max-min fair share: nodes asking less than an even split keep what they use, and what they leave
// is split evenly among the rest. A node computes its own share as if it wanted more (its share is
// a ceiling: below it, it sends what it has), so one node alone gets the whole limit, three busy
// nodes a third each, and a busy node beside one sending 1 MB/s of a 6 MB/s limit gets 5 MB/s.
import { logger } from '../log.js';

const log = logger('pacing');

/** What one node asks of one limit: the bytes per second it sent, or 'more' when the limit held it back. */
export type Demand = number | 'more';

/**
 * What is shared: a bandwidth limit ("0" the global one, else the destination's id, as BandwidthLimiter
 * keys its buckets) or a destination's parts in flight ("lane:<destination id>", Lanes).
 */
export type Scope = string;

/** The scope of a destination's parts in flight. */
export const laneScope = (destinationId: number): Scope => `lane:${destinationId}`;

/**
 * The rate a node wanting more may send at under `limit`, beside other nodes asking `others`: the
 * water level of a max-min fair split (others asking less than it keep what they ask).
 */
export function fairShare(limit: number, others: readonly Demand[]): number {
  const asking = others.filter((d): d is number => d !== 'more').sort((a, b) => a - b);
  let remaining = limit;
  let sharers = others.length + 1;
  for (const d of asking) {
    if (d >= remaining / sharers) break;
    remaining -= d;
    sharers--;
  }
  return remaining / sharers;
}

/** Where the nodes publish their demands (NodeStore: a column of the nodes registry). */
export interface DemandBoard {
  /** This node's demands as text (null: it asks nothing, it stopped sending). */
  publishDemands(id: string, demands: string | null): void;
  /** The demands published by the other nodes working now (heartbeat and publication within `staleAfterMs`). */
  peerDemands(id: string, staleAfterMs: number): string[];
}

function parse(text: string): Map<Scope, Demand> {
  const out = new Map<Scope, Demand>();
  try {
    for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>)) {
      if (v === 'more' || (typeof v === 'number' && Number.isFinite(v) && v >= 0)) out.set(k, v);
    }
  } catch {
    // A row written by another release or half-read: that node counts as asking nothing.
  }
  return out;
}

/** This node's side of the exchange: publish its demands, read the others', give its share of each limit. */
export class ClusterShare {
  private peers: Map<Scope, Demand>[] = [];
  private failing = false;
  /** The share last given per scope. */
  private readonly given = new Map<Scope, number>();
  /** Demands of other parts of this node, published with the limiter's (the lanes' parts in flight). */
  private readonly sources: Array<() => ReadonlyMap<Scope, Demand>> = [];

  constructor(
    private readonly board: DemandBoard,
    private readonly owner: string,
    /** A node silent this long (no heartbeat, no publication) no longer counts: the job lease. */
    private readonly staleAfterMs: number,
  ) {}

  /** Adds demands published with every exchange. */
  addSource(demands: () => ReadonlyMap<Scope, Demand>): void {
    this.sources.push(demands);
  }

  /** Publishes this node's demands (and its sources') and reads the other nodes' (once a second, from the limiter's tick). */
  exchange(mine: ReadonlyMap<Scope, Demand>): void {
    try {
      const all = new Map(mine);
      for (const source of this.sources) for (const [scope, d] of source()) all.set(scope, d);
      this.board.publishDemands(this.owner, all.size ? JSON.stringify(Object.fromEntries(all)) : null);
      this.peers = this.board.peerDemands(this.owner, this.staleAfterMs).map(parse);
      this.failing = false;
    } catch (err) {
      // The database is away: keep the last shares (the node stops its work after half a lease anyway).
      if (!this.failing) log.warn(`could not exchange bandwidth demands with the other nodes: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  private othersOn(scope: Scope): Demand[] {
    const others: Demand[] = [];
    for (const p of this.peers) {
      const d = p.get(scope);
      if (d !== undefined && d !== 0) others.push(d);
    }
    return others;
  }

  /** This node's rate under `limit` (bytes per second) for that scope. */
  shareOf(scope: Scope, limit: number): number {
    const share = Math.floor(fairShare(limit, this.othersOn(scope)));
    // A share that moved by less than 1% stays as it was: each change resets the bucket (its debt forgiven, its sleepers woken).
    const last = this.given.get(scope);
    if (last !== undefined && Math.abs(share - last) < share / 100) return last;
    this.given.set(scope, share);
    return share;
  }

  /**
   * This node's whole slots of `ceiling` (parts in flight): its share rounded down, so the nodes
   * together never pass the ceiling, but at least one (more nodes than slots each keep one).
   */
  slotsOf(scope: Scope, ceiling: number): number {
    return Math.max(1, Math.floor(fairShare(ceiling, this.othersOn(scope)) + 1e-9));
  }

  /** This node sends nothing any more (its work stopped): the others may take its share at once. */
  withdraw(): void {
    this.peers = [];
    try {
      this.board.publishDemands(this.owner, null);
    } catch (err) {
      // Its demands go stale with its heartbeat (a lease) instead.
      log.warn(`could not withdraw this node's bandwidth demands: ${(err as Error).message}`);
    }
  }
}
