// A bandwidth limit is the cluster's (issue 15): each node's share of each limit, from the demands
// the nodes publish in the nodes registry. The arithmetic (a max-min fair split), then the exchange
// through the store with three connections on one SQLite file playing three nodes (a clock the test
// moves), then the limiter's buckets set to the share. Priorities: a node publishes the rank of its
// work per limit, and higher ranks are served first (a floor kept for lower ranks of a bandwidth
// limit, one slot of a concurrency); a row without ranks (an earlier release) counts as normal. No time is measured: the rates the buckets
// are set to are read back (test/s3/cluster-bandwidth.test.ts measures the rate on the wire).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Destination } from '../../shared/types.js';
import { BandwidthLimiter } from '../../src-main/engine/pacing/bandwidth.js';
import { PRIORITY_RANK } from '../../shared/states.js';
import { ClusterShare, askedPriority, fairShare, laneScope, rankedShare, scopeRanks, type Ask, type Demand } from '../../src-main/engine/pacing/cluster-share.js';
import { Lanes, type Bounds } from '../../src-main/engine/pacing/lanes.js';
import { TokenBucket } from '../../src-main/engine/pacing/token-bucket.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { PacingStore } from '../../src-main/engine/store/pacing-store.js';
import { tempDir } from '../support/s3.js';

const MB = 1_000_000;
const LEASE_MS = 3000;

test('the share of a node wanting more: the whole limit alone, an even split among busy nodes, what under-using nodes leave split among the rest', () => {
  const cases: Array<[Demand[], number]> = [
    [[], 6 * MB],
    [['more'], 3 * MB],
    [['more', 'more'], 2 * MB],
    [[1 * MB], 5 * MB],
    [[1 * MB, 'more'], 2.5 * MB],
    [[4 * MB, 'more'], 2 * MB],
    [[0.5 * MB, 0.5 * MB, 'more'], 2.5 * MB],
    [[5 * MB, 5 * MB], 2 * MB],
  ];
  for (const [others, share] of cases) assert.equal(Math.round(fairShare(6 * MB, others)), share, `beside ${JSON.stringify(others)}`);
});

/** Nodes on one database file, each with its own connection, and a clock the test moves. */
function cluster(n: number) {
  const file = path.join(tempDir('cluster-share'), 'hoist.db');
  const clock = { now: 1_000_000 };
  const nodes = Array.from({ length: n }, (_, i) => {
    const db = openDatabase(file).db;
    const store = new JobStore(db, () => clock.now);
    const id = `node-${i}`;
    store.nodes.register(id);
    return { id, store, pacing: new PacingStore(db, () => clock.now), share: new ClusterShare(store.nodes, id, LEASE_MS) };
  });
  return { nodes, clock };
}

test('shares through the nodes registry: busy nodes split a limit, a node whose heartbeat is stale or that stopped no longer counts, each limit apart', () => {
  const { nodes, clock } = cluster(3);
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  const busy = new Map<string, Demand>([['0', 'more'], ['7', 'more']]);
  a.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 6 * MB, 'alone: the whole limit');
  b.share.exchange(busy);
  c.share.exchange(new Map<string, Demand>([['0', 'more']]));
  a.share.exchange(busy);
  b.share.exchange(busy);
  assert.deepEqual([a, b, c].map((n) => n.share.shareOf('0', 6 * MB)), [2 * MB, 2 * MB, 2 * MB], 'three busy nodes: a third each');
  assert.deepEqual([a, b].map((n) => n.share.shareOf('7', 3 * MB)), [1.5 * MB, 1.5 * MB], "destination 7's limit: two nodes send to it");
  assert.equal(c.share.shareOf('7', 3 * MB), 1 * MB, 'a node not sending to it yet: its share were it to start');

  // c sends 1 MB/s only: the two busy nodes split the rest.
  c.share.exchange(new Map<string, Demand>([['0', 1 * MB]]));
  a.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 2.5 * MB);

  // c's heartbeat goes stale (a lease without one): it no longer counts, though its row still says 'more'.
  c.share.exchange(new Map<string, Demand>([['0', 'more']]));
  clock.now += LEASE_MS - 100;
  a.store.nodes.heartbeat(a.id);
  b.store.nodes.heartbeat(b.id);
  a.share.exchange(busy);
  b.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 2 * MB, 'c still counts just before a lease');
  clock.now += 200;
  a.store.nodes.heartbeat(a.id);
  a.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 3 * MB, 'c stale: a and b a half each');

  // b stops cleanly: a has the whole limit at its next look.
  b.store.nodes.stopped(b.id);
  a.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 6 * MB);
});

test('a node that stops sending withdraws its demands: the others take its share at their next look', () => {
  const { nodes } = cluster(2);
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const busy = new Map<string, Demand>([['0', 'more']]);
  a.share.exchange(busy);
  b.share.exchange(busy);
  a.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 3 * MB);
  b.share.withdraw();
  a.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 6 * MB);
});

test("the limiter sets each node's buckets to its share, from what its senders took since its last look; without a cluster, the whole limit", () => {
  const { nodes } = cluster(3);
  const limiters = nodes.map((n) => new BandwidthLimiter(n.pacing, undefined, n.share));
  limiters[0]!.set({ destinationId: null, bytesPerSecond: 6 * MB });
  for (const l of limiters) l.reload();
  const globalOf = (l: BandwidthLimiter) => new TokenBucket(l.memoryFor(1)[0]!);
  // Each node's senders ask for far more than a second's worth: the bucket holds them back.
  const look = (working = limiters) => {
    for (const l of working) {
      globalOf(l).reserve(50 * MB);
      l.tick();
    }
  };
  look();
  look();
  assert.deepEqual(limiters.map((l) => globalOf(l).rate), [2 * MB, 2 * MB, 2 * MB]);

  // One node stops working: the two others share the limit.
  limiters[2]!.stop();
  look(limiters.slice(0, 2));
  assert.deepEqual(limiters.slice(0, 2).map((l) => globalOf(l).rate), [3 * MB, 3 * MB]);

  const alone = new BandwidthLimiter(new PacingStore(openDatabase(':memory:').db));
  alone.set({ destinationId: null, bytesPerSecond: 6 * MB });
  alone.tick();
  assert.equal(globalOf(alone).rate, 6 * MB, 'one process without a shared queue: the whole limit');
});

test("a destination's parts in flight are the cluster's: each node's lane is held to its whole slots of the concurrency (or the max), never more in all", () => {
  const { nodes, clock } = cluster(3);
  let dest = { id: 1, concurrency: 6 } as Destination;
  let bounds: Bounds | null = null;
  const lanesOf = nodes.map((n) => {
    const lanes = new Lanes(() => bounds, () => undefined, {}, () => clock.now, (id, ceiling) => n.share.slotsOf(laneScope(id), ceiling));
    // As the engine does: the lanes' demands go out with the limiter's.
    n.share.addSource(() => new Map([...lanes.demands()].map(([id, d]) => [laneScope(id), d])));
    return lanes;
  });
  /** Each working node fills its lane (more parts waiting than slots), looks, exchanges demands, and ticks. */
  const look = (working = [0, 1, 2]) => {
    for (const i of working) {
      const lane = lanesOf[i]!.get(dest);
      while (lane.inflight < lane.limit) lane.acquire(1);
      lane.look();
      nodes[i]!.share.exchange(new Map());
      lanesOf[i]!.tick(() => dest);
    }
  };
  const limits = (working = [0, 1, 2]) => working.map((i) => lanesOf[i]!.get(dest).limit);
  look([0]);
  assert.deepEqual(limits([0]), [6], 'alone: the whole concurrency');
  look();
  look();
  assert.deepEqual(limits(), [2, 2, 2], 'three busy nodes: a third each');

  dest = { ...dest, concurrency: 4 };
  for (const lanes of lanesOf) lanes.reconfigure(() => dest);
  look();
  assert.deepEqual(limits(), [1, 1, 1], 'whole slots only: never more than 4 in all');

  nodes[2]!.share.withdraw();
  look([0, 1]);
  assert.deepEqual(limits([0, 1]), [2, 2], 'a node stops: the two others share its slots');

  bounds = { min: 1, max: 8 };
  for (const lanes of lanesOf) lanes.reconfigure(() => dest);
  look([0, 1]);
  assert.deepEqual([0, 1].map((i) => lanesOf[i]!.get(dest).automatic), [{ min: 1, max: 4 }, { min: 1, max: 4 }], "automatic: the max is the cluster's");
});

const { high: HIGH, normal: NORMAL, low: LOW } = PRIORITY_RANK;

test('higher priority is served first: a node at the best rank present splits the limit with its peers, less a tenth kept for lower ranks asking; lower ranks get what is left', () => {
  const more = (rank: number): Ask => ({ demand: 'more', rank });
  const cases: Array<[number, Ask[], number, string]> = [
    [NORMAL, [more(NORMAL), more(NORMAL)], 2 * MB, 'one rank: the max-min fair split, as before'],
    [HIGH, [more(LOW)], 5.4 * MB, 'a high node beside a low one: 90%'],
    [LOW, [more(HIGH)], 0.6 * MB, 'the low node: the 10% kept for it'],
    [HIGH, [more(HIGH), more(LOW)], 2.7 * MB, 'two high nodes split the 90%'],
    [LOW, [more(HIGH), more(HIGH)], 0.6 * MB, 'below two high nodes: still the 10%'],
    [LOW, [{ demand: 1 * MB, rank: HIGH }], 5 * MB, 'a high node sending 1 MB/s leaves the rest'],
    [HIGH, [{ demand: 0.2 * MB, rank: LOW }], 5.8 * MB, 'a low node asking less than the floor leaves the rest too'],
    [NORMAL, [more(HIGH), more(LOW)], 0.54 * MB, 'three ranks: normal gets 90% of what high leaves'],
    [LOW, [more(HIGH), more(NORMAL)], 0.06 * MB, 'and low the rest'],
    [LOW, [more(LOW), { demand: 3 * MB, rank: NORMAL }], 1.5 * MB, 'a normal node sending 3 MB/s: two low nodes split the other 3'],
  ];
  for (const [rank, others, share, why] of cases) assert.equal(Math.round(rankedShare(6 * MB, rank, others)), Math.round(share), why);
  // Every node's share, each computed from the others' demands: never more than the limit in all.
  const ranks = [HIGH, NORMAL, NORMAL, LOW];
  const shares = ranks.map((r, i) => rankedShare(6 * MB, r, ranks.filter((_, j) => j !== i).map(more)));
  assert.ok(Math.abs(shares.reduce((a, b) => a + b) - 6 * MB) < 1, `${shares.join(' + ')} is the limit`);
});

test('the ranks a node publishes: per destination its limit and its lane, the global limit the best of them; what `hoist nodes` shows it asks at', () => {
  assert.deepEqual(Object.fromEntries(scopeRanks(new Map([[3, LOW], [7, HIGH]]))), { '3': LOW, 'lane:3': LOW, '7': HIGH, 'lane:7': HIGH, '0': HIGH });
  assert.deepEqual(Object.fromEntries(scopeRanks(new Map())), {});
  assert.equal(askedPriority('{"0":"more","lane:7":2,"ranks":{"0":2,"lane:7":0}}'), 'high');
  assert.equal(askedPriority('{"0":"more"}'), 'normal', 'a row of an earlier release: normal');
  assert.equal(askedPriority(null), null, 'a node asking nothing');
});

test('priorities through the nodes registry: a node sending high work takes most of a limit beside one sending low work, a row without ranks counts as normal, and each follows its work', () => {
  const { nodes } = cluster(3);
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  const work = { a: new Map<number, number>([[7, HIGH]]), b: new Map<number, number>([[7, LOW]]) };
  a.share.rankBy(() => scopeRanks(work.a));
  b.share.rankBy(() => scopeRanks(work.b));
  const busy = new Map<string, Demand>([['0', 'more'], ['7', 'more']]);
  a.share.exchange(busy);
  b.share.exchange(busy);
  a.share.exchange(busy);
  assert.deepEqual([a, b].map((n) => n.share.shareOf('0', 6 * MB)), [5.4 * MB, 0.6 * MB], 'the global limit: high 90%, low 10%');
  assert.deepEqual([a, b].map((n) => n.share.shareOf('7', 3 * MB)), [2.7 * MB, 0.3 * MB], "destination 7's limit the same");

  // c is of an earlier release: its row has demands and no ranks, so it asks at normal.
  c.store.nodes.publishDemands(c.id, JSON.stringify({ '0': 'more' }));
  a.share.exchange(busy);
  b.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 5.4 * MB, 'a (high) keeps 90%, c and b below it');
  assert.equal(b.share.shareOf('0', 6 * MB), 0.06 * MB, 'b (low) below c (normal)');

  // a's high job ends; its work is normal now: a and c split the normal share, b keeps its floor.
  work.a = new Map([[7, NORMAL]]);
  a.share.exchange(busy);
  b.share.exchange(busy);
  assert.equal(a.share.shareOf('0', 6 * MB), 2.7 * MB);
  assert.equal(b.share.shareOf('0', 6 * MB), 0.6 * MB);
});

test("a destination's slots by priority: a high node asking every slot gets them all, a lower node keeps one; what the high node leaves goes to the others", () => {
  const { nodes, clock } = cluster(2);
  const dest = { id: 1, concurrency: 6 } as Destination;
  const ranks = [new Map([[1, HIGH]]), new Map([[1, LOW]])];
  const lanesOf = nodes.map((n, i) => {
    const lanes = new Lanes(() => null, () => undefined, {}, () => clock.now, (id, ceiling) => n.share.slotsOf(laneScope(id), ceiling));
    n.share.addSource(() => new Map([...lanes.demands()].map(([id, d]) => [laneScope(id), d])));
    n.share.rankBy(() => scopeRanks(ranks[i]!));
    return lanes;
  });
  /** Each node fills its lane up to `want` parts (more: as many as it may), looks, exchanges and ticks. */
  const look = (want: number[]) => {
    nodes.forEach((n, i) => {
      const lane = lanesOf[i]!.get(dest);
      while (lane.inflight < Math.min(lane.limit, want[i]!)) lane.acquire(0);
      lane.look();
      n.share.exchange(new Map());
      lanesOf[i]!.tick(() => dest);
    });
  };
  const limits = () => lanesOf.map((l) => l.get(dest).limit);
  look([99, 99]);
  look([99, 99]);
  look([99, 99]);
  assert.deepEqual(limits(), [6, 1], 'high asks every slot: all six; low keeps one');

  // The high node's job has only four parts left: the low node gets the two it leaves.
  for (const l of lanesOf) l.get(dest).releaseAll();
  look([4, 99]);
  look([4, 99]);
  assert.deepEqual(limits(), [6, 2]);
});
