// What a job's state change costs against what the queue page's queries cost, with the jobs table's
// indexes as they are and with some dropped (issue 12, docs/small-files.md "The state indexes"):
// one seeded table of N jobs (SQLite file, or a PostgreSQL URL with --db), copied afresh per variant
// and round (SQLite), the variants alternated. Per variant: CPU µs per state change (queued → running
// → done, each its own commit as the scheduler makes them), and for every sort order and direction
// the UI offers, each state chip, all states and a search, the first page and a deep one (median ms
// of three) with SQLite's plan.
//   node build/bench/state-indexes.js [--jobs 100000] [--changes 2000] [--rounds 2] [--drop a,b,c] [--plans]
//   node build/bench/state-indexes.js --db postgres://… [--drop a,b]   (an empty database, seeded once and kept; no plans)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JobSortKey } from '../shared/contract.js';
import type { JobState } from '../shared/states.js';
import { openDatabase, type Db } from '../src-main/engine/store/db.js';
import { JobStore } from '../src-main/engine/store/job-store.js';
import { benchDestination } from './destination.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    changes: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    drop: { type: 'string', default: '' },
    db: { type: 'string' },
    plans: { type: 'boolean', default: false },
    queries: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const JOBS = Number(values.jobs);
const CHANGES = Number(values.changes);
const dropped = values.drop ? values.drop.split(',') : [];

const SORTS: JobSortKey[] = ['createdAt', 'id', 'state', 'size', 'progress'];
const FILTERS: Array<{ name: string; states?: JobState[]; search?: string }> = [
  { name: 'all' },
  ...(['running', 'queued', 'paused', 'failed', 'completing', 'done', 'cancelled'] as JobState[]).map((s) => ({ name: s, states: [s] })),
  { name: 'failed+paused', states: ['failed', 'paused'] as JobState[] },
  { name: 'search card17/', search: 'card17/' },
];
const PAGES = [0, 5_000];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** On PostgreSQL the indexes are written by the server: its backend's CPU (Linux /proc, clock ticks of 10 ms) counts too. */
let backendPid = 0;
const backendUs = () => {
  if (!backendPid) return 0;
  const f = fs.readFileSync(`/proc/${backendPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
};
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system + backendUs();
};

/** A table as the e2e queue test seeds it, with queued and running jobs too (the states a frame passes), and progress. */
function seed(store: JobStore, destinationId: number): void {
  store.atomically(() => {
    for (let i = 1; i <= JOBS; i++) {
      store.insertJob(
        { destinationId, sourcePath: `/Volumes/CARD_${i % 200}/A${i}_C${i % 97}.mov`, bucket: 'b', key: `seed/card${i % 200}/A${i}_C${i % 97}.mov`, size: 1000 + ((i * 7919) % 100_000), mtimeMs: 0, inode: String(i), contentType: 'video/quicktime', mode: 'single', partSize: 1000 + i, priority: 'normal', checksumAlgorithm: null },
        [{ partNumber: 1, offset: 0, length: 1000 + i }],
      );
    }
    // The bench's own seeding, as test/s3/e2e-queue.test.ts and bench/scale-bench.ts set states in one statement.
    store.db
      .prepare(`UPDATE jobs SET state = CASE id % 20 WHEN 1 THEN 'queued' WHEN 2 THEN 'running' WHEN 3 THEN 'completing' WHEN 7 THEN 'failed' WHEN 17 THEN 'failed' WHEN 8 THEN 'paused' WHEN 9 THEN 'cancelled' ELSE 'done' END,
        bytes_done = CASE id % 20 WHEN 2 THEN size / 3 WHEN 3 THEN size WHEN 1 THEN 0 WHEN 8 THEN size / 2 ELSE size END, finished_at = updated_at, created_at = created_at + (id * 37) % 1000`)
      .run();
  });
}

/** Jobs made for the state changes: queued, outside the seeded ones. */
function changeJobs(store: JobStore, destinationId: number): number[] {
  return store.atomically(() =>
    Array.from({ length: CHANGES }, (_, i) =>
      store.insertJob({ destinationId, sourcePath: `/frames/f${i}.dpx`, bucket: 'b', key: `frames/f${i}.dpx`, size: 1 << 20, mtimeMs: 0, inode: `f${i}`, contentType: 'image/x-dpx', mode: 'single', partSize: 1 << 20, priority: 'normal', checksumAlgorithm: null }, [
        { partNumber: 1, offset: 0, length: 1 << 20 },
      ]).id,
    ),
  );
}

function stateChanges(store: JobStore, ids: number[]): { claim: number; end: number } {
  let claim = 0;
  let end = 0;
  for (const id of ids) {
    const a = cpuUs();
    store.transition(id, ['queued'], 'running');
    const b = cpuUs();
    store.transition(id, ['running'], 'done');
    claim += b - a;
    end += cpuUs() - b;
  }
  return { claim: claim / ids.length, end: end / ids.length };
}

/** The page query's SQL as queryJobs prepares it (the one with ORDER BY), for its plan. */
function recordPrepares(db: Db): string[] {
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  (db as { prepare: Db['prepare'] }).prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as Db['prepare'];
  return seen;
}

function pageQueries(store: JobStore, seen: string[]): Map<string, { ms: number; plan: string }> {
  const out = new Map<string, { ms: number; plan: string }>();
  for (const sort of SORTS)
    for (const descending of [true, false])
      for (const f of FILTERS)
        for (const offset of PAGES) {
          const q = { sort, descending, offset, limit: 100, ...(f.states ? { states: f.states } : {}), ...(f.search ? { search: f.search } : {}) };
          const times: number[] = [];
          for (let r = 0; r < 3; r++) {
            seen.length = 0;
            const t = performance.now();
            store.queryJobs(q);
            times.push(performance.now() - t);
          }
          const sql = seen.find((s) => s.includes('ORDER BY'))!;
          const args = [...(f.states ?? []), ...(f.search ? [`"${f.search}"`] : []), 100, offset];
          const plan = values.plans && store.db.dialect === 'sqlite' ? (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).filter((d) => !d.startsWith('CORRELATED') && !d.includes('SUBQUERY') && !/^SEARCH (d|o|n) /.test(d)).join('; ') : '';
          out.set(`${sort} ${descending ? 'desc' : 'asc'} | ${f.name} | @${offset}`, { ms: median(times), plan });
        }
  const t: number[] = [];
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    store.totals();
    t.push(performance.now() - s);
  }
  out.set('totals() | counts | -', { ms: median(t), plan: '' });
  return out;
}

function dropIndexes(db: Db, names: string[]): void {
  for (const n of names) db.exec(`DROP INDEX ${n}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-indexes-'));
const results = new Map<string, { changes: Array<{ claim: number; end: number }>; pages: Map<string, number[]>; plans: Map<string, string> }>();
const variants = dropped.length ? ['kept', 'dropped'] : ['kept'];
for (const v of variants) results.set(v, { changes: [], pages: new Map(), plans: new Map() });

if (values.db) {
  // PostgreSQL: one database, seeded once; a dropped variant's indexes are made again after it (their definitions read first).
  const { db } = openDatabase(values.db);
  const store = new JobStore(db);
  backendPid = (db.prepare('SELECT pg_backend_pid() AS pid').get() as { pid: number }).pid;
  const dest = store.listDestinations()[0] ?? store.upsertDestination(benchDestination('bench', 'http://127.0.0.1:1', 'b'));
  if ((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n < JOBS) seed(store, dest.id);
  db.exec('ANALYZE jobs');
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of round % 2 ? [...variants].reverse() : variants) {
      const defs = v === 'dropped' ? dropped.map((n) => (db.prepare('SELECT indexdef FROM pg_indexes WHERE indexname = ?').get(n) as { indexdef: string }).indexdef) : [];
      if (v === 'dropped') dropIndexes(db, dropped);
      const r = results.get(v)!;
      if (values.queries) for (const [k, { ms }] of pageQueries(store, recordPrepares(db))) r.pages.set(k, [...(r.pages.get(k) ?? []), ms]);
      const ids = changeJobs(store, dest.id);
      r.changes.push(stateChanges(store, ids));
      store.db.prepare('DELETE FROM jobs WHERE id >= ?').run(ids[0]);
      for (const d of defs) db.exec(d);
    }
  }
  db.close();
} else {
  const seedFile = path.join(dir, 'seed.db');
  const t0 = cpuUs();
  {
    const { db } = openDatabase(seedFile);
    const store = new JobStore(db);
    const dest = store.upsertDestination(benchDestination('bench', 'http://127.0.0.1:1', 'b'));
    seed(store, dest.id);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
  }
  process.stdout.write(`# seeded ${JOBS} jobs: ${((cpuUs() - t0) / 1e6).toFixed(1)} CPU s\n`);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of round % 2 ? [...variants].reverse() : variants) {
      const file = path.join(dir, `${v}-${round}.db`);
      fs.copyFileSync(seedFile, file);
      const { db } = openDatabase(file);
      if (v === 'dropped') dropIndexes(db, dropped);
      const store = new JobStore(db);
      const r = results.get(v)!;
      if (values.queries) {
        const seen = recordPrepares(db);
        for (const [k, { ms, plan }] of pageQueries(store, seen)) {
          r.pages.set(k, [...(r.pages.get(k) ?? []), ms]);
          if (plan) r.plans.set(k, plan);
        }
      }
      const dest = store.listDestinations()[0]!;
      r.changes.push(stateChanges(store, changeJobs(store, dest.id)));
      db.close();
      for (const f of fs.readdirSync(dir)) if (f.startsWith(`${v}-${round}.db`)) fs.rmSync(path.join(dir, f));
    }
  }
}
fs.rmSync(dir, { recursive: true, force: true });

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
process.stdout.write(`# ${JOBS} jobs; dropped: ${dropped.join(', ') || '(none)'}; load ${os.loadavg()[0]!.toFixed(1)}\n`);
for (const [v, r] of results) {
  process.stdout.write(`state change, ${v}: claim µs CPU ${fmt(r.changes.map((c) => c.claim))} (median ${median(r.changes.map((c) => c.claim)).toFixed(0)}), end ${fmt(r.changes.map((c) => c.end))} (median ${median(r.changes.map((c) => c.end)).toFixed(0)})\n`);
}
if (values.queries) {
  process.stdout.write(`\n| query | ${variants.map((v) => `${v} ms (median of rounds)`).join(' | ')} |${values.plans ? ' plans |' : ''}\n`);
  for (const k of results.get('kept')!.pages.keys()) {
    const cells = variants.map((v) => median(results.get(v)!.pages.get(k)!).toFixed(1));
    const plans = values.plans ? ` ${variants.map((v) => `${v}: ${results.get(v)!.plans.get(k) ?? ''}`).join(' / ')} |` : '';
    process.stdout.write(`| ${k} | ${cells.join(' | ')} |${plans}\n`);
  }
}
