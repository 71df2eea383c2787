// What a node pays for a shared queue it can read none of (issue 15, docs/architecture.md "The
// cluster"): a PostgreSQL queue of JOBS queued jobs of a watched folder pinned to another machine,
// and this process's scheduler, on a shared queue as machine "here", left running SECONDS. The
// scheduler's store is wrapped to time each look over the queue (nextQueuedJobRefs, one round trip
// to the server and back, which walks the queued jobs and filters every row out); the process's CPU
// is read around the run. The server's own time per look: EXPLAIN ANALYZE of the same statement.
// usage: HOIST_TEST_PG_URL=postgres://... node build/bench/unreadable-queue.js [--jobs 100000] [--seconds 10]
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Scheduler } from '../src-main/engine/scheduler/scheduler.js';
import { CredentialSource } from '../src-main/engine/s3/connection.js';
import { openDatabase } from '../src-main/engine/store/db.js';
import { FolderStore } from '../src-main/engine/store/folder-store.js';
import { JobStore } from '../src-main/engine/store/job-store.js';
import type { UploadStore } from '../src-main/engine/store/upload-store.js';
import type { WorkerPool } from '../src-main/engine/upload/worker-pool.js';
import { folderInput } from '../test/support/pinned.js';
import { pgTestUrl, pgUrlWith, psql } from '../test/support/pg.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '100000' }, seconds: { type: 'string', default: '10' } } });
const jobs = Number(values.jobs);
const seconds = Number(values.seconds);

// A database of its own (not the test helper's freshPgDatabase: that one registers with node:test).
const name = `hoist_bench_unreadable_${process.pid}`;
psql(`CREATE DATABASE ${name}`);
const url = pgUrlWith(pgTestUrl(), name);
const { db } = openDatabase(url);
const store = new JobStore(db);
const dest = store.upsertDestination({
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
});
// A folder added on machine "elsewhere" is pinned there: "here" sees none of its jobs.
const folder = new FolderStore(db, Date.now, 'elsewhere').addFolder(folderInput('/nas/elsewhere', dest.id));
const first = store.insertJob(
  { destinationId: dest.id, sourcePath: '/nas/elsewhere/f0.mov', bucket: 'bucket', key: 'f0.mov', size: 10, mtimeMs: 1, inode: '1', contentType: 'video/mp4', mode: 'single', partSize: 10, priority: 'normal', checksumAlgorithm: null,
    origin: { machine: 'elsewhere', folderId: folder.id, relPath: 'f0.mov' } },
  [{ partNumber: 1, offset: 0, length: 10 }],
);
// The rest copied from it by the server (one statement, not 100,000 round trips).
const cols = (db.prepare(`SELECT column_name FROM information_schema.columns WHERE table_name = 'jobs' AND column_name NOT IN ('id', 'key', 'source_path', 'folder_rel_path')`).all() as Array<{ column_name: string }>).map((r) => r.column_name);
const list = cols.map((c) => `"${c}"`).join(', ');
db.prepare(`INSERT INTO jobs (key, source_path, folder_rel_path, ${list}) SELECT 'f' || g || '.mov', '/nas/elsewhere/f' || g || '.mov', 'f' || g || '.mov', ${list} FROM jobs, generate_series(1, ?) g WHERE id = ?`).run(jobs - 1, first.id);
db.prepare('ANALYZE jobs').run();

const looks: number[] = [];
const timed = new Proxy(store, {
  get(target, prop, receiver) {
    const v = Reflect.get(target, prop, receiver) as unknown;
    if (prop !== 'nextQueuedJobRefs' || typeof v !== 'function') return v;
    return (...args: unknown[]) => {
      const t = performance.now();
      try {
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      } finally {
        looks.push(performance.now() - t);
      }
    };
  },
}) as UploadStore;
const owner = 'bench-node';
store.nodes.register(owner, 'here');
const scheduler = new Scheduler(timed, {} as WorkerPool, new CredentialSource(), { shared: { owner, machine: 'here', leaseMs: 30_000, liveOthers: () => 0 } });
// The server process serving this connection: its CPU is the looks' cost on the database's machine.
const backend = (db.prepare('SELECT pg_backend_pid() AS pid').get() as { pid: number }).pid;
const serverCpu = (): number => {
  const f = fs.readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in ticks of 10 ms
};
const server0 = serverCpu();
const cpu0 = process.cpuUsage();
scheduler.start();
await new Promise((r) => setTimeout(r, seconds * 1000));
await scheduler.stop();
const cpu = process.cpuUsage(cpu0);
const serverMs = serverCpu() - server0;
const plan = (db.prepare(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM jobs j WHERE state = 'queued' AND available_at <= 0 + ${Date.now()} AND
  (CASE WHEN j.folder_id IS NOT NULL AND EXISTS (SELECT 1 FROM watched_folders wfo WHERE wfo.id = j.folder_id)
  THEN NOT EXISTS (SELECT 1 FROM folder_paths p WHERE p.folder_id = j.folder_id) OR EXISTS (SELECT 1 FROM folder_paths p WHERE p.folder_id = j.folder_id AND p.machine = 'here')
  ELSE j.machine IS NULL OR j.machine = 'here' END) ORDER BY priority, id LIMIT 16`).get() as Record<string, unknown>);
const server = (Object.values(plan)[0] as Array<{ 'Execution Time': number }>)[0]!['Execution Time'];
looks.sort((a, b) => a - b);
const sum = looks.reduce((n, x) => n + x, 0);
const pct = (p: number) => looks[Math.min(looks.length - 1, Math.floor(looks.length * p))]?.toFixed(1) ?? '-';
console.log(
  `${jobs} queued jobs pinned elsewhere, ${seconds} s: ${looks.length} looks (${(looks.length / seconds).toFixed(1)}/s), ` +
    `per look median ${pct(0.5)} ms, p90 ${pct(0.9)} ms; looking ${(sum / seconds).toFixed(0)} ms per second; ` +
    `CPU per second: this process ${((cpu.user + cpu.system) / 1000 / seconds).toFixed(0)} ms, its PostgreSQL backend ${(serverMs / seconds).toFixed(0)} ms; server per look (EXPLAIN ANALYZE) ${server.toFixed(1)} ms`,
);
db.close();
psql(`DROP DATABASE ${name} WITH (FORCE)`);
