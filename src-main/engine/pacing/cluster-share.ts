// A bandwidth limit is the cluster's, not each node's (issue 15, docs/architecture.md "The cluster").
// Every second each node publishes, per limit in force, what it asks of it (its demand): the bytes
// per second it sent through that limit's bucket, or 'more' when the bucket held a sender back
// (it would send faster), and the priority of what it sends there (its rank: the best of its jobs
// under that limit). From the other live nodes' demands each node sets its own bucket to its share:
// higher ranks first, as one node's lanes serve a higher job's parts first; among nodes of one rank
// a max-min fair split: nodes asking less than an even split keep what they use, and what they leave
// is split evenly among the rest. A node computes its own share as if it wanted more (its share is
// a ceiling: below it, it sends what it has), so one node alone gets the whole limit, three busy
// nodes of one rank a third each, a busy node beside one sending 1 MB/s of a 6 MB/s limit 5 MB/s,
// and a node sending a high job beside one sending low jobs 90% (LOWER_RANKS_FLOOR).
import { PRIORITIES, PRIORITY_RANK, type Priority } from '../../../shared/states.js';
import { logger } from '../log.js';
import { logFailure } from '../support/outage.js';

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

/** What another node asks of one scope: its demand, and the rank of what it sends there (PRIORITY_RANK: 0 high). */
export interface Ask {
  demand: Demand;
  rank: number;
}

/** The rank of a node that published none (a row of an earlier release): normal. */
export const UNRANKED = PRIORITY_RANK.normal;

/**
 * Of a bandwidth limit, the part the ranks above leave that is kept for the ranks below while any
 * of them asks. Not zero: a demand is read by the others up to a second late (a dead node's for a
 * lease), so a wrong or stale high ask must not stop the rest of the cluster outright, and a lower
 * node's part already on the wire must keep moving (a request whose body stalls is cut by the
 * server, RequestTimeout, and its bytes sent again). Small: a high job still gets 90% of the limit
 * beside any number of lower nodes (measured: test/s3/cluster-priority.test.ts).
 */
export const LOWER_RANKS_FLOOR = 0.1;

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

/** What nodes asking `demands` take of `limit` split among themselves: all of it, unless they ask less in all. */
function taken(limit: number, demands: readonly Demand[]): number {
  let sum = 0;
  for (const d of demands) sum += d === 'more' ? Infinity : d;
  return Math.min(limit, sum);
}

/**
 * The rate a node wanting more at `rank` may send at under `limit`, beside `others`: each rank
 * above it takes what it asks (split max-min fair among its nodes) of what the ranks above that
 * left, less `floor` of it kept for the ranks below (this node among them); the node's own rank
 * splits what is left the same way, less what lower ranks ask of the floor. All of one rank: fairShare.
 */
export function rankedShare(limit: number, rank: number, others: readonly Ask[], floor = LOWER_RANKS_FLOOR): number {
  const demandsAt = (r: number) => others.filter((o) => o.rank === r).map((o) => o.demand);
  let left = limit;
  for (const r of [...new Set(others.map((o) => o.rank).filter((r) => r < rank))].sort((x, y) => x - y)) {
    left -= taken(left - left * floor, demandsAt(r));
  }
  const kept = taken(left * floor, others.filter((o) => o.rank > rank).map((o) => o.demand));
  return fairShare(left - kept, demandsAt(rank));
}

/** The priority a node's published demands ask at (its best rank; a row without ranks: normal), null when it asks nothing (`hoist nodes`). */
export function askedPriority(text: string | null): Priority | null {
  if (text === null) return null;
  const asks = [...parse(text).values()];
  if (!asks.length) return null;
  return PRIORITIES[Math.min(...asks.map((a) => a.rank))] ?? null;
}

/** Where the nodes publish their demands (NodeStore: a column of the nodes registry). */
export interface DemandBoard {
  /** This node's demands as text (null: it asks nothing, it stopped sending). */
  publishDemands(id: string, demands: string | null): void;
  /** The demands published by the other nodes working now (heartbeat and publication within `staleAfterMs`). */
  peerDemands(id: string, staleAfterMs: number): string[];
}

/** The key under which a node publishes its rank per scope, beside its demands (a row without it: every scope normal). */
const RANKS = 'ranks';

function validRank(r: unknown): r is number {
  return typeof r === 'number' && Number.isInteger(r) && r >= 0 && r < PRIORITIES.length;
}

function parse(text: string): Map<Scope, Ask> {
  const out = new Map<Scope, Ask>();
  try {
    const row = JSON.parse(text) as Record<string, unknown>;
    const ranks = (typeof row[RANKS] === 'object' && row[RANKS] !== null ? row[RANKS] : {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(row)) {
      if (k === RANKS) continue;
      const r = ranks[k];
      if (v === 'more' || (typeof v === 'number' && Number.isFinite(v) && v >= 0)) out.set(k, { demand: v, rank: validRank(r) ? r : UNRANKED });
    }
  } catch {
    // A row written by another release or half-read: that node counts as asking nothing.
  }
  return out;
}

/** The scopes' ranks from the best rank of this node's work per destination: its limit and lane; the global limit the best of all. */
export function scopeRanks(byDestination: ReadonlyMap<number, number>): Map<Scope, number> {
  const out = new Map<Scope, number>();
  for (const [id, rank] of byDestination) {
    out.set(String(id), rank);
    out.set(laneScope(id), rank);
  }
  if (byDestination.size) out.set('0', Math.min(...byDestination.values()));
  return out;
}

/** This node's side of the exchange: publish its demands, read the others', give its share of each limit. */
export class ClusterShare {
  private peers: Map<Scope, Ask>[] = [];
  private failing = false;
  /** The share last given per scope. */
  private readonly given = new Map<Scope, number>();
  /** Demands of other parts of this node, published with the limiter's (the lanes' parts in flight). */
  private readonly sources: Array<() => ReadonlyMap<Scope, Demand>> = [];
  /** The rank of this node's work per scope (none: normal), as read at the last exchange. */
  private ranks: ReadonlyMap<Scope, number> = new Map();
  private rankSource: () => ReadonlyMap<Scope, number> = () => new Map();

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

  /** Where this node's rank per scope comes from (the best rank of its work there), published with its demands. */
  rankBy(ranks: () => ReadonlyMap<Scope, number>): void {
    this.rankSource = ranks;
  }

  /** Publishes this node's demands (and its sources') and reads the other nodes' (once a second, from the limiter's tick). */
  exchange(mine: ReadonlyMap<Scope, Demand>): void {
    try {
      const all = new Map(mine);
      for (const source of this.sources) for (const [scope, d] of source()) all.set(scope, d);
      this.ranks = this.rankSource();
      const ranks = Object.fromEntries([...all.keys()].map((scope) => [scope, this.rankOf(scope)]));
      this.board.publishDemands(this.owner, all.size ? JSON.stringify({ ...Object.fromEntries(all), [RANKS]: ranks }) : null);
      this.peers = this.board.peerDemands(this.owner, this.staleAfterMs).map(parse);
      this.failing = false;
    } catch (err) {
      // The database is away: keep the last shares (the node stops its work after half a lease anyway).
      if (!this.failing) logFailure(log, 'warn', `could not exchange bandwidth demands with the other nodes: ${(err as Error).message}`, err);
      this.failing = true;
    }
  }

  private rankOf(scope: Scope): number {
    return this.ranks.get(scope) ?? UNRANKED;
  }

  private othersOn(scope: Scope): Ask[] {
    const others: Ask[] = [];
    for (const p of this.peers) {
      const a = p.get(scope);
      if (a !== undefined && a.demand !== 0) others.push(a);
    }
    return others;
  }

  /** This node's rate under `limit` (bytes per second) for that scope. */
  shareOf(scope: Scope, limit: number): number {
    const share = Math.floor(rankedShare(limit, this.rankOf(scope), this.othersOn(scope)));
    // A share that moved by less than 1% stays as it was: each change resets the bucket (its debt forgiven, its sleepers woken).
    const last = this.given.get(scope);
    if (last !== undefined && Math.abs(share - last) < share / 100) return last;
    this.given.set(scope, share);
    return share;
  }

  /**
   * This node's whole slots of `ceiling` (parts in flight): its share rounded down, so nodes of one
   * rank together never pass the ceiling, but at least one (more nodes than slots each keep one, and
   * a node below a rank that asks every slot keeps one: the ranks above keep none back for it, so
   * the cluster may pass the ceiling by one per such node, as one node's high part may overtake a
   * full lane of lower parts).
   */
  slotsOf(scope: Scope, ceiling: number): number {
    return Math.max(1, Math.floor(rankedShare(ceiling, this.rankOf(scope), this.othersOn(scope), 0) + 1e-9));
  }

  /** This node sends nothing any more (its work stopped): the others may take its share at once. */
  withdraw(): void {
    this.peers = [];
    try {
      this.board.publishDemands(this.owner, null);
    } catch (err) {
      // Its demands go stale with its heartbeat (a lease) instead.
      logFailure(log, 'warn', `could not withdraw this node's bandwidth demands: ${(err as Error).message}`, err);
    }
  }
}
