// An in-process engine against a real endpoint, for tests that pause, resume and inspect state.
import fs from 'node:fs';
import path from 'node:path';
import { destinationWithDefaults } from '../../shared/destination-defaults.js';
import { MiB } from '../../shared/limits.js';
import type { Destination, DestinationInput } from '../../shared/types.js';
import { Engine, type EngineOptions } from '../../src-main/engine/engine.js';
import type { SchedulerOptions } from '../../src-main/engine/scheduler/scheduler.js';
import type { JobRecord } from '../../src-main/engine/store/job-store.js';
import { emptyPgDatabaseFor, pgDatabaseFor } from './pg.js';

/**
 * The job database of a test engine in `dir`: the SQLite file hoist.db there, or with
 * HOIST_TEST_STORE=pg a PostgreSQL database of its own on the test server (the same one for the same
 * dir, so a second engine on the dir resumes the first one's queue).
 */
export function testDbPath(dir: string): string {
  return process.env.HOIST_TEST_STORE === 'pg' ? pgDatabaseFor(path.resolve(dir), path.basename(dir)) : path.join(dir, 'hoist.db');
}

/** The job database of `dir` thrown away (the engines on it closed): the next testEngine there starts with an empty one. */
export function forgetTestDb(dir: string): void {
  if (process.env.HOIST_TEST_STORE === 'pg') {
    emptyPgDatabaseFor(path.resolve(dir), path.basename(dir));
    return;
  }
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `hoist.db${suffix}`), { force: true });
}

export function testEngine(dir: string, opts: { endpoint: string; bucket: string } & Partial<DestinationInput>, scheduler: SchedulerOptions = {}, engineOpts: Partial<EngineOptions> = {}): { engine: Engine; dest: Destination } {
  const engine = new Engine({
    ...engineOpts,
    dbPath: engineOpts.dbPath ?? testDbPath(dir),
    scheduler: { tickMs: 50, retry: { baseDelayMs: 50, maxDelayMs: 500 }, ...scheduler },
  });
  const { endpoint, bucket, ...rest } = opts;
  const dest = engine.upsertDestination(destinationWithDefaults({ name: `${bucket}@test`, endpoint, region: 'us-east-1', bucket, pathStyle: true }, { partSize: 5 * MiB, concurrency: 2, ...rest }));
  return { engine, dest };
}

/** Polls until `check` holds; fails the test with `what` after `timeoutMs` (a guard, never a timing assertion). */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function doneParts(engine: Engine, jobId: number): number[] {
  return engine.parts(jobId).filter((p) => p.state === 'done').map((p) => p.partNumber);
}

export function jobOf(engine: Engine, id: number): JobRecord {
  return engine.getJob(id)!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
