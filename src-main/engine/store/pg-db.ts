// The job database on PostgreSQL behind the same synchronous `Db` the SQLite store uses (db.ts):
// every store method and transaction stays synchronous, so the engine's callers do not change and a
// transaction never interleaves with other engine code. A worker thread owns the node-postgres client
// (pg-bridge-worker.ts); each call blocks this thread until the worker answers (synckit). The cost,
// measured on loopback, is in docs/architecture.md (store section).
import { fileURLToPath } from 'node:url';
import type { BridgeCall, BridgeResult } from './pg-bridge-worker.js';
import { bindValues, toPgSql, type PgSql } from './pg-sql.js';
import type { Db, RunResult, Statement } from './db-types.js';
import { requireCjs } from '../cjs.js';

// Through require, not import (cjs.ts).
const { createSyncFn } = requireCjs('synckit') as typeof import('synckit');

const WORKER = fileURLToPath(new URL('./pg-bridge-worker.js', import.meta.url));

/**
 * How long the main thread waits for one answer. The worker's own bounds (connect timeout, TCP
 * keepalive) end a call against a dead server sooner; this is the backstop against a hung worker.
 */
const CALL_TIMEOUT_MS = 120_000;

type Bridge = (call: BridgeCall) => number | BridgeResult | null;
let bridge: Bridge | null = null;
function callBridge(call: BridgeCall): number | BridgeResult | null {
  bridge ??= createSyncFn<(call: BridgeCall) => Promise<number | BridgeResult | null>>(WORKER, { timeout: CALL_TIMEOUT_MS }) as Bridge;
  return bridge(call);
}

/** A bytea crosses the thread as a Uint8Array; the store reads Buffers, as better-sqlite3 gives them. */
function value(v: unknown): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

function asObject(names: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) o[names[i]!] = value(row[i]);
  return o;
}

class PgStatement implements Statement {
  constructor(
    private readonly db: PgDb,
    private readonly sql: PgSql,
    private readonly plucked = false,
  ) {}

  pluck(on = true): Statement {
    return new PgStatement(this.db, this.sql, on);
  }

  private query(params: readonly unknown[]): BridgeResult {
    return this.db.query(this.sql.text, bindValues(this.sql, params));
  }

  private shape(res: BridgeResult): unknown[] {
    return this.plucked ? res.rows.map((r) => value(r[0])) : res.rows.map((r) => asObject(res.names, r));
  }

  run(...params: unknown[]): RunResult {
    return { changes: this.query(params).rowCount };
  }

  get(...params: unknown[]): unknown {
    return this.shape(this.query(params))[0];
  }

  all(...params: unknown[]): unknown[] {
    return this.shape(this.query(params));
  }

  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.all(...params)[Symbol.iterator]();
  }
}

const STATEMENT_CACHE_SIZE = 256;

export class PgDb implements Db {
  readonly dialect = 'pg' as const;
  readonly name: string;
  private id: number | null;
  private depth = 0;
  /** Set when the connection was lost inside a transaction: its work is gone, so nothing more of it may run on a new session. */
  private lostInTransaction: Error | null = null;
  private readonly translated = new Map<string, PgSql>();
  /**
   * BEGIN, SAVEPOINTs and a nested step's RELEASE not sent yet: they go with the next statement (one
   * bridge round trip less each, measured in docs/performance.md and docs/small-files.md), a
   * transaction that ran no statement sends nothing at all, and the RELEASEs still held at the
   * outer COMMIT or ROLLBACK are dropped (both end every savepoint).
   */
  private readonly pending: string[] = [];
  /** How many times `pending` was sent: a step whose opener is still unsent saw no send since it pushed it. */
  private sends = 0;
  /**
   * A statement failed in the open transaction and no rollback has undone it since: the server has
   * aborted the transaction, so a RELEASE or COMMIT must go now and fail there, as it did when each was
   * sent at once (a COMMIT of an aborted transaction would roll back without an error).
   */
  private aborted = false;
  /** Calls made through the bridge (each one a round trip to the worker and the server): for the bench and diagnostics. */
  roundTrips = 0;

  constructor(readonly url: string) {
    this.name = url;
    this.id = callBridge({ op: 'open', url }) as number;
  }

  get open(): boolean {
    return this.id !== null;
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  private connection(): number {
    if (this.id === null) throw new Error('The job database is closed');
    if (this.lostInTransaction) throw this.lostInTransaction;
    return this.id;
  }

  private guard<T>(fn: () => T, sql?: string): T {
    try {
      return fn();
    } catch (err) {
      if (this.depth > 0) this.aborted = true;
      if ((err as { code?: string }).code === 'store.unreachable') {
        if (this.depth > 0) this.lostInTransaction = err as Error;
        // Which caller: the stack was made on the worker thread.
        (err as Error).stack += `\n    -- called${new Error().stack!.replace(/^Error/, '')}`;
      } else if (sql) {
        // Which statement: the worker's stack does not lead back to the store method.
        Object.assign(err as object, { sql: sql.slice(0, 300) });
      }
      throw err;
    }
  }

  /** The held-back BEGIN/SAVEPOINTs to send with this call, and whether the server's transaction had begun before it. */
  private takePending(): { prefix?: string; inTransaction: boolean } {
    this.roundTrips++;
    if (this.pending.length === 0) return { inTransaction: this.depth > 0 };
    this.sends++;
    const prefix = this.pending.join('; ');
    const begins = this.pending[0] === 'BEGIN';
    this.pending.length = 0;
    return { prefix, inTransaction: !begins && this.depth > 0 };
  }

  query(text: string, params: unknown[]): BridgeResult {
    const id = this.connection();
    return this.guard(() => callBridge({ op: 'query', id, sql: text, params, ...this.takePending() }) as BridgeResult, text);
  }

  prepare(source: string): Statement {
    let sql = this.translated.get(source);
    if (!sql) {
      sql = toPgSql(source);
      if (this.translated.size >= STATEMENT_CACHE_SIZE) this.translated.delete(this.translated.keys().next().value!);
      this.translated.set(source, sql);
    }
    return new PgStatement(this, sql);
  }

  exec(source: string): this {
    const id = this.connection();
    this.guard(() => callBridge({ op: 'exec', id, sql: source, ...this.takePending() }));
    return this;
  }

  /** SQLite's pragmas have no meaning here; the store asks `dialect` before using one. */
  pragma(source: string): never {
    throw new Error(`PRAGMA ${source} is SQLite only`);
  }

  /**
   * better-sqlite3's transaction wrapper: BEGIN/COMMIT, or a savepoint when nested, rolled back
   * when `fn` throws. `.immediate` is the same on PostgreSQL: row locks order the writers.
   */
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F; deferred: F; exclusive: F } {
    const wrapped = ((...args: Parameters<F>) => this.within(() => fn(...args))) as F;
    return Object.assign(wrapped, { immediate: wrapped, deferred: wrapped, exclusive: wrapped });
  }

  private within<T>(fn: () => T): T {
    const depth = this.depth;
    const savepoint = `hoist_${depth}`;
    // Held back until a statement runs (takePending); `unsent` while it still is, nothing to end on the server.
    this.connection();
    this.pending.push(depth === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}`);
    const sendsAtOpen = this.sends;
    const unsent = () => this.sends === sendsAtOpen;
    this.depth = depth + 1;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.depth = depth;
      // Unsent: nothing ran inside, so the opener is still the last entry. Sent: what is held is the
      // RELEASEs of steps inside this one, which its rollback ends anyway.
      if (unsent()) this.pending.pop();
      else {
        this.pending.length = 0;
        this.endTransaction(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
      }
      if (depth === 0) this.lostInTransaction = null;
      throw err;
    }
    try {
      if (unsent()) this.pending.pop();
      else if (depth > 0 && !this.aborted) this.pending.push(`RELEASE SAVEPOINT ${savepoint}`);
      else {
        // COMMIT ends the held RELEASEs' savepoints itself; an aborted transaction's COMMIT was never
        // told apart by them (their steps ended before it failed). Sent as part of the transaction: a
        // COMMIT after the session was lost must fail, not succeed on a new one.
        if (depth === 0) this.pending.length = 0;
        this.exec(depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
      }
    } catch (err) {
      this.depth = depth;
      if (depth > 0) this.endTransaction(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      throw err;
    } finally {
      this.depth = depth;
      if (depth === 0) {
        this.lostInTransaction = null;
        this.aborted = false;
      }
    }
    return result;
  }

  /** Undoes a failed transaction; on a lost connection there is nothing to undo (the server dropped it). */
  private endTransaction(sql: string): void {
    if (this.lostInTransaction) {
      if (this.depth === 0) this.lostInTransaction = null;
      return;
    }
    try {
      this.exec(sql);
      this.aborted = false;
    } catch {
      // The rollback failing (the connection went meanwhile) leaves the server to drop the transaction.
    }
    if (this.depth === 0) this.lostInTransaction = null;
  }

  close(): this {
    if (this.id !== null) callBridge({ op: 'close', id: this.id });
    this.id = null;
    return this;
  }
}
