// `hoist nodes`: the processes sharing one queue (a PostgreSQL job store, issue 15), each with its
// host and pid, its state, its last heartbeat, how many jobs it holds and the priority it asks its
// share of the limits at (pacing/cluster-share.ts). It reads them through the
// one method below; the store's node registry (store/node-store.ts) provides the rows.
import type { Command } from 'commander';
import type { Priority } from '../../shared/states.js';
import { askedPriority } from '../engine/pacing/cluster-share.js';
import type { NodeRecord } from '../engine/store/node-store.js';
import type { HoistRuntime } from '../runtime/runtime.js';
import { formatDuration, printList } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

/** A process that shares the queue, as the store's node registry records it. */
export type NodeRow = NodeRecord;

/** What `hoist nodes` reads. */
export interface NodeSource {
  listNodes(): NodeRow[];
}

/** The stable `--json` shape (docs/cli.md): times as ISO 8601 UTC, as a Job's are. */
export function publicNode(n: NodeRow): { id: string; host: string; pid: number; state: string; holds: number; asks: Priority | null; startedAt: string; heartbeatAt: string } {
  return { id: n.id, host: n.host, pid: n.pid, state: n.state, holds: n.holds, asks: asksOf(n), startedAt: new Date(n.startedAt).toISOString(), heartbeatAt: new Date(n.heartbeatAt).toISOString() };
}

/** The priority a working node asks its share of the limits at (the best of its work); null: it sends nothing now. */
function asksOf(n: NodeRow): Priority | null {
  return n.state === 'working' ? askedPriority(n.demands) : null;
}

/**
 * One line a node: `ID  HOST pid PID  STATE  holds N job(s)  heartbeat 3s ago  up 2h05m`, ages counted
 * from `now`; a stopped node says how long it ran (its last heartbeat is its stop) instead of `up`; a
 * node sending ends with the priority it asks its share at (`  asks high`).
 */
export function nodeLine(n: NodeRow, now: number): string {
  const span = (from: number, to: number) => formatDuration(Math.max(0, to - from) / 1000);
  const jobs = `holds ${n.holds} job${n.holds === 1 ? '' : 's'}`;
  const lived = n.state === 'stopped' ? `ran ${span(n.startedAt, n.heartbeatAt)}` : `up ${span(n.startedAt, now)}`;
  const asks = asksOf(n);
  return `${n.id}  ${n.host} pid ${n.pid}  ${n.state.padEnd(7)}  ${jobs.padEnd(13)}  heartbeat ${span(n.heartbeatAt, now)} ago  ${lived}${asks ? `  asks ${asks}` : ''}`;
}

export function printNodes(nodes: NodeRow[], json: boolean | undefined, now = Date.now()): void {
  printList(json, 'nodes', nodes, (n) => nodeLine(n, now), 'no process has worked this queue', publicNode);
}

/** `nodesOf` finds the node registry in the runtime the command opens. */
export function registerNodesCommand(program: Command, globals: Globals, nodesOf: (rt: HoistRuntime) => NodeSource): void {
  program
    .command('nodes')
    .description('the processes sharing this queue (hoist --db postgres://…): host, pid, state, last heartbeat, jobs held, priority asked')
    .option('--json', 'machine-readable output (stable; see docs/cli.md)')
    .action(async (o: { json?: boolean }) => {
      await withHoist(globals(), async (rt) => printNodes(nodesOf(rt).listNodes(), o.json));
    });
}
