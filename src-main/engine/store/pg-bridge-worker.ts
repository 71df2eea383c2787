// The worker thread behind the PostgreSQL store (pg-db.ts): it owns the node-postgres clients, one
// per open database, and answers the main thread's synchronous calls (synckit blocks the caller on
// Atomics.wait until this replies). A client and its open transaction live here between calls, so a
// store transaction is the same PostgreSQL session from BEGIN to COMMIT.
import pg from 'pg';
import { runAsWorker } from 'synckit';
import { pgErrorCode, unreachable } from './pg-errors.js';

/** int8 (count, sum of bigints, BIGINT columns) and numeric (sum, arithmetic with 1.0) as JS numbers, as SQLite gives them. */
function toNumber(text: string): number {
  const n = Number(text);
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER) throw new Error(`The job database returned ${text}, beyond what a JS number holds exactly`);
  return n;
}
pg.types.setTypeParser(pg.types.builtins.INT8, toNumber);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, toNumber);

/** A connection's answer to one statement: column names, rows as arrays (the main thread builds objects or plucks). */
export interface BridgeResult {
  names: string[];
  rows: unknown[][];
  rowCount: number;
}

export type BridgeCall =
  | { op: 'open'; url: string }
  | { op: 'query'; id: number; sql: string; params: unknown[]; inTransaction: boolean; prefix?: string }
  | { op: 'exec'; id: number; sql: string; inTransaction: boolean; prefix?: string }
  | { op: 'close'; id: number };

interface Connection {
  url: string;
  client: pg.Client | null;
  /** The connection went while idle: a transaction open on it is gone, and its next statement must say so, not run on a new session. */
  lost: Error | null;
}

const connections = new Map<number, Connection>();
let nextId = 1;

/** Bounds so a dead server never blocks the main thread for long: connecting, and a socket silent this long is dropped. */
const CONNECT_TIMEOUT_MS = 5000;

async function connect(conn: Connection): Promise<pg.Client> {
  if (conn.client) return conn.client;
  const client = new pg.Client({ connectionString: conn.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  // An idle client whose server went away: forget it; the next call connects again, unless it is
  // part of a transaction (that one is gone with the session: the call fails as it would have).
  client.on('error', (err) => {
    if (conn.client !== client) return;
    conn.client = null;
    conn.lost = unreachable(err, conn.url) ?? toBridgeError(err, conn.url);
  });
  try {
    await client.connect();
  } catch (err) {
    client.end().catch(() => undefined);
    throw toBridgeError(err, conn.url);
  }
  conn.client = client;
  return client;
}

/** Plain errors with the code the store checks (pg-errors.ts): a pg error object does not cross the thread whole. */
function toBridgeError(err: unknown, url: string): Error {
  const lost = unreachable(err, url);
  if (lost) return lost;
  const e = err as { message?: string; code?: string };
  return Object.assign(new Error(e.message ?? String(err)), { code: pgErrorCode(e.code), pgCode: e.code });
}

/** Buffers come over the thread as plain Uint8Arrays; pg sends a Buffer as bytea. */
function param(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

async function run(call: BridgeCall): Promise<number | BridgeResult | null> {
  if (call.op === 'open') {
    const conn: Connection = { url: call.url, client: null, lost: null };
    await connect(conn);
    const id = nextId++;
    connections.set(id, conn);
    return id;
  }
  const conn = connections.get(call.id);
  if (!conn) throw new Error(`The job database connection ${call.id} is closed (${call.op})`);
  if (call.op === 'close') {
    connections.delete(call.id);
    await conn.client?.end().catch(() => undefined);
    return null;
  }
  const lost = conn.lost;
  conn.lost = null;
  if (lost && call.inTransaction) throw lost;
  const client = await connect(conn);
  try {
    // A transaction's BEGIN (or SAVEPOINT) the main thread held back, sent with its first statement: one thread hop less.
    if (call.prefix) await client.query(call.prefix);
    if (call.op === 'exec') {
      await client.query(call.sql);
      return null;
    }
    const res = await client.query({ text: call.sql, values: call.params.map(param), rowMode: 'array' });
    return { names: res.fields.map((f) => f.name), rows: res.rows as unknown[][], rowCount: res.rowCount ?? 0 };
  } catch (err) {
    const mapped = toBridgeError(err, conn.url);
    if ((mapped as { code?: string }).code === 'store.unreachable' && conn.client === client) {
      conn.client = null;
      client.end().catch(() => undefined);
    }
    throw mapped;
  }
}

runAsWorker(run);
