// A bandwidth limit is the cluster's (issue 15): each node's share of each limit, from the demands
// the nodes publish in the nodes registry. The arithmetic (a max-min fair split), then the exchange
// through the store with three connections on one SQLite file playing three nodes (a clock the test
// moves), then the limiter's buckets set to the share. No time is measured: the rates the buckets
// are set to are read back (test/s3/cluster-bandwidth.test.ts measures the rate on the wire).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Destination } from '../../shared/types.js';
import { BandwidthLimiter } from '../../src-main/engine/pacing/bandwidth.js';
import { ClusterShare, fairShare, laneScope, type Demand } from '../../src-main/engine/pacing/cluster-share.js';
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
