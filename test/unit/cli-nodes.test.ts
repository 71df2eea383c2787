// `hoist nodes` (cli/nodes.ts) on rows fed to it: one line a process, the --json contract, and the
// command itself opening its runtime and asking the source it is given. Needs no server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { nodeLine, publicNode, registerNodesCommand, type NodeRow } from '../../src-main/cli/nodes.js';
import type { GlobalOpts } from '../../src-main/cli/with-hoist.js';

const started = Date.UTC(2026, 11, 4, 18, 0, 0);
const rows: NodeRow[] = [
  { id: 'ingest-1:4121', host: 'ingest-1', pid: 4121, startedAt: started, heartbeatAt: started + 7_500_000, holds: 3, state: 'working', demands: '{"0":"more","lane:1":"more","ranks":{"0":0,"lane:1":0}}' },
  { id: 'ingest-2:88', host: 'ingest-2', pid: 88, startedAt: started + 60_000, heartbeatAt: started + 7_000_000, holds: 1, state: 'stale', demands: '{"0":"more"}' },
  { id: 'ingest-3:9', host: 'ingest-3', pid: 9, startedAt: started, heartbeatAt: started + 3_600_000, holds: 0, state: 'stopped', demands: null },
  // A node of an earlier release publishes demands without ranks: it asks at normal priority.
  { id: 'ingest-4:12', host: 'ingest-4', pid: 12, startedAt: started + 7_200_000, heartbeatAt: started + 7_501_000, holds: 2, state: 'working', demands: '{"0":1000000}' },
  { id: 'ingest-5:13', host: 'ingest-5', pid: 13, startedAt: started + 7_200_000, heartbeatAt: started + 7_501_000, holds: 0, state: 'working', demands: null },
];
const now = started + 7_502_000;

test('a line per process: host and pid, state, jobs held, heartbeat age, time up (or, stopped, how long it ran), the priority a working node asks at', () => {
  assert.deepEqual(
    rows.map((n) => nodeLine(n, now)),
    [
      'ingest-1:4121  ingest-1 pid 4121  working  holds 3 jobs   heartbeat 2s ago  up 2h05m  asks high',
      'ingest-2:88  ingest-2 pid 88  stale    holds 1 job    heartbeat 8m22s ago  up 2h04m',
      'ingest-3:9  ingest-3 pid 9  stopped  holds 0 jobs   heartbeat 1h05m ago  ran 1h00m',
      'ingest-4:12  ingest-4 pid 12  working  holds 2 jobs   heartbeat 1s ago  up 5m02s  asks normal',
      'ingest-5:13  ingest-5 pid 13  working  holds 0 jobs   heartbeat 1s ago  up 5m02s',
    ],
  );
});

test('--json gives each process with its times in ISO 8601 UTC', () => {
  assert.deepEqual(publicNode(rows[0]!), {
    id: 'ingest-1:4121',
    host: 'ingest-1',
    pid: 4121,
    state: 'working',
    holds: 3,
    asks: 'high',
    startedAt: '2026-12-04T18:00:00.000Z',
    heartbeatAt: '2026-12-04T20:05:00.000Z',
  });
});

/** Runs `hoist [--db DB] ARGS` with only the nodes command, its source giving `list`; returns what it wrote to stdout. */
async function runNodes(list: NodeRow[], args: string[]): Promise<string> {
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-nodes-')), 'hoist.db');
  const program = new Command('hoist').option('--db <path>').exitOverride();
  let asked = 0;
  registerNodesCommand(program, () => program.opts<GlobalOpts>(), (rt) => {
    assert.ok(rt.engine, 'the source is found in an opened runtime');
    return { listNodes: () => (asked++, list) };
  });
  const out: string[] = [];
  const write = process.stdout.write;
  // Only the command's text: the test runner's own reports (serialized, as buffers) pass through.
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'string' ? (out.push(chunk), true) : Reflect.apply(write, process.stdout, [chunk, ...rest])) as typeof process.stdout.write;
  try {
    await program.parseAsync(['--db', db, 'nodes', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  assert.equal(asked, 1);
  return out.join('');
}

test('hoist nodes --json prints { nodes: [...] } from the source', async () => {
  const printed = JSON.parse(await runNodes(rows, ['--json'])) as { nodes: unknown[] };
  assert.deepEqual(printed, { nodes: rows.map(publicNode) });
});

test('hoist nodes prints a line per process, or says there is none', async () => {
  const text = await runNodes(rows, []);
  assert.deepEqual(text.trimEnd().split('\n').map((l) => l.split('  ')[0]), rows.map((r) => r.id));
  assert.equal(await runNodes([], []), 'no process has worked this queue\n');
});
