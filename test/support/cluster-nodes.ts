// Several `hoist watch` processes (nodes) on one shared queue (issue 15): a PostgreSQL database of the
// test server's (scripts/with-pg.sh), which turns the shared queue on by itself; with
// HOIST_TEST_STORE=sqlite, one SQLite file on one machine (HOIST_SHARED_QUEUE=1). Used by
// test/s3/cluster.test.ts, cluster-bandwidth.test.ts and cluster-outage.test.ts (which brings a
// PostgreSQL server of its own, to stop it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import { MiB } from '../../shared/limits.js';
import type { Priority } from '../../shared/states.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import type { Db } from '../../src-main/engine/store/db-types.js';
import { testDbPath, testEngine, until } from './engine.js';
import { hoist, startHoist, type CliResult } from './hoist-cli.js';
import { s3Env, tempDir } from './s3.js';
import type { S3Proxy } from './s3-proxy.js';

/** Shared queue on, and a job lease of 3 s (a dead node's job is taken over after it). */
export const LEASE_MS = 3000;
export const SHARED = { HOIST_SHARED_QUEUE: '1', HOIST_LEASE_MS: String(LEASE_MS), AWS_ACCESS_KEY_ID: s3Env().accessKeyId, AWS_SECRET_ACCESS_KEY: s3Env().secretAccessKey };

// The queue is on PostgreSQL unless asked otherwise (testEngine and testDbPath follow HOIST_TEST_STORE).
process.env.HOIST_TEST_STORE ??= 'pg';

const pgPeeks = new Map<string, Db>();
after(() => {
  for (const db of pgPeeks.values()) db.close();
});

/** Reads the shared database as a test watches it: read-only on SQLite, never in the nodes' way. */
export function peek<T>(db: string, sql: string, ...args: unknown[]): T[] {
  if (/^postgres(ql)?:\/\//.test(db)) {
    let conn = pgPeeks.get(db);
    if (!conn) pgPeeks.set(db, (conn = openDatabase(db).db));
    return conn.prepare(sql).all(...args) as T[];
  }
  try {
    const ro = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return ro.prepare(sql).all(...args) as T[];
    } finally {
      ro.close();
    }
  } catch {
    return [];
  }
}

export interface ClusterQueue {
  dir: string;
  db: string;
  watched: string;
  cli: string[];
  destination: string;
}

/** How a watched folder is added: its jobs' priority, and the machine (HOIST_NODE_NAME) that adds it, to which it is pinned. */
export interface FolderOptions {
  priority?: Priority;
  machine?: string;
}

/** Adds `dir` (made here) as a watched folder of the queue sending to its destination. */
export async function addFolder(q: Pick<ClusterQueue, 'cli' | 'destination'>, dir: string, o: FolderOptions = {}): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const args = [...q.cli, 'folders', 'add', dir, '--to', q.destination, '--stable-for', '300ms', ...(o.priority ? ['--priority', o.priority] : [])];
  const added = await hoist(args, o.machine ? { ...SHARED, HOIST_NODE_NAME: o.machine } : {});
  assert.equal(added.code, 0, added.stderr);
}

/**
 * A queue whose destination (through the proxy) has 5 MiB parts and `concurrency` (2), and a watched
 * folder sending to it (`folder`: its priority and machine); on the test tier's database (testDbPath)
 * unless `db` names one.
 */
export async function queueWithFolder(proxy: S3Proxy, bucket: string, label: string, prefix: string, singlePutThreshold: number, o: { concurrency?: number; db?: string; folder?: FolderOptions } = {}): Promise<ClusterQueue> {
  const dir = tempDir(label);
  const watched = path.join(dir, 'ingest');
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, partSize: 5 * MiB, concurrency: o.concurrency ?? 2, singlePutThreshold, prefix }, {}, o.db ? { dbPath: o.db } : {});
  await engine.close();
  const db = o.db ?? testDbPath(dir);
  const q = { dir, db, watched, cli: ['--db', db], destination: dest.name };
  await addFolder(q, watched, o.folder);
  return q;
}

export type Node = ReturnType<typeof startHoist>;

/** Starts `n` `hoist watch` processes on the queue (the `i`th with `env(i)` too) and waits until each has registered as a node. */
export async function startNodes(db: string, cli: string[], n: number, env: (i: number) => NodeJS.ProcessEnv = () => ({})): Promise<Node[]> {
  const nodes = Array.from({ length: n }, (_, i) => startHoist([...cli, 'watch'], { ...SHARED, ...env(i) }));
  await until(`${n} nodes working the queue`, () => {
    for (const node of nodes) if (node.child.exitCode !== null) throw new Error(`a node ended early (${node.child.exitCode})`);
    return peek<{ n: number }>(db, `SELECT count(*) AS n FROM nodes WHERE state = 'working'`)[0]?.n === n;
  });
  return nodes;
}

export async function stopAll(nodes: readonly Node[]): Promise<CliResult[]> {
  for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGINT');
  return Promise.all(nodes.map((node) => node.done));
}

/** Requests of these operations at the proxy, per key. */
export function sendsPerKey(proxy: S3Proxy, bucket: string, ops: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of proxy.requests()) {
    if (!ops.includes(r.operation)) continue;
    const key = decodeURIComponent(r.path.slice(`/${bucket}/`.length));
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}
