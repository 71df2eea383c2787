// The store writes one small file costs end to end (issue 12): N files of SIZE queued with
// `hoist upload DIR`'s call and uploaded to the bench sink at the defaults, every SQLite write
// counted (bench/sql-writes.ts) and listed by statement, per file, with the reads made while uploading. The list in docs/small-files.md
// comes from here.  node build/bench/writes-per-file.js [--files 200] [--size 1048576] [--hashes xxh64] [--db postgres://…]
// With --db a PostgreSQL URL (an empty database) the store is there: statements are not counted, the
// bridge's round trips are. Both print files/s queued and uploaded (wall clock, this machine's load).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { FileHashAlgorithm } from '../shared/states.js';
import { Engine } from '../src-main/engine/engine.js';
import { benchDestination } from './destination.js';
import { startSinkProcess, writeRandomFile } from './fixtures.js';
import { countWrites, installWriteCounting } from './sql-writes.js';

/** A PostgreSQL store's bridge calls by their SQL's first words (its query and exec); nothing on SQLite. */
function tripsBySql(db: object): Map<string, number> {
  const by = new Map<string, number>();
  const pg = db as { query?: (text: string, ...rest: unknown[]) => unknown; exec?: (text: string) => unknown };
  if ((db as { dialect?: string }).dialect !== 'pg') return by;
  const count = (text: string) => {
    const what = text.trim().replace(/\s+/g, ' ').slice(0, 90);
    by.set(what, (by.get(what) ?? 0) + 1);
  };
  const query = pg.query!.bind(db);
  const exec = pg.exec!.bind(db);
  pg.query = (text: string, ...rest: unknown[]) => (count(text), query(text, ...rest));
  pg.exec = (text: string) => (count(text), exec(text));
  return by;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'bench';
process.env.AWS_SECRET_ACCESS_KEY = 'bench';

const { values } = parseArgs({ options: { files: { type: 'string', default: '200' }, size: { type: 'string', default: String(1024 * 1024) }, hashes: { type: 'string', default: 'xxh64' }, db: { type: 'string' } } });
const files = Number(values.files);
installWriteCounting();
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-writes-'));
const sink = await startSinkProcess();
try {
  const client = new S3Client({ endpoint: sink.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await client.send(new CreateBucketCommand({ Bucket: 'hoist-writes' }));
  client.destroy();
  const dir = path.join(workDir, 'stills');
  fs.mkdirSync(dir);
  for (let i = 0; i < files; i++) await writeRandomFile(path.join(dir, `IMG_${String(i).padStart(5, '0')}.jpg`), Number(values.size));
  const engine = new Engine({ dbPath: values.db ?? path.join(workDir, 'hoist.db') });
  const dest = engine.upsertDestination(benchDestination('writes-sink', sink.url, 'hoist-writes'));
  const writes = countWrites(engine.store.db);
  const trips = tripsBySql(engine.store.db);
  /** The PostgreSQL store's bridge calls so far (pg-db.ts); 0 on SQLite. */
  const roundTrips = () => (engine.store.db as { roundTrips?: number }).roundTrips ?? 0;
  const hashes = values.hashes === 'none' ? [] : (values.hashes!.split(',') as FileHashAlgorithm[]);
  const t0 = performance.now();
  const trips0 = roundTrips();
  const jobs = await engine.enqueue([dir], { destination: dest, hashes });
  const queuedS = (performance.now() - t0) / 1000;
  const queued = { transactions: writes.transactions, statements: writes.statements, roundTrips: roundTrips() - trips0 };
  writes.readsBySql.clear();
  const t1 = performance.now();
  engine.start();
  const done = await engine.waitFor(jobs.map((j) => j.id));
  const uploadedS = (performance.now() - t1) / 1000;
  const tripsNow = roundTrips() - trips0;
  const engine0Events = engine.events(jobs[0]!.id).map((e) => e.kind);
  await engine.close();
  const failed = done.filter((j) => j.state !== 'done');
  if (failed.length > 0) throw new Error(`${failed.length} jobs did not end done: ${failed[0]!.error?.message}`);
  const per = (n: number) => (n / files).toFixed(2);
  console.log(`${files} files of ${values.size} bytes, hashes ${values.hashes}: per file ${per(writes.transactions)} transactions, ${per(writes.statements)} write statements (queuing: ${per(queued.transactions)} and ${per(queued.statements)})`);
  console.log(`${engine.store.db.dialect}: queued ${(files / queuedS).toFixed(0)} files/s (${queuedS.toFixed(2)} s), uploaded ${(files / uploadedS).toFixed(1)} files/s (${uploadedS.toFixed(1)} s); bridge round trips per file ${per(tripsNow)} (queuing ${per(queued.roundTrips)})`);
  console.log(`  history of a job: ${engine0Events.join(', ')}`);
  for (const [sql, n] of [...writes.bySql].sort((a, b) => b[1] - a[1])) console.log(`  ${per(n).padStart(6)}  ${sql}`);
  if (writes.readsBySql.size > 0) console.log('  reads while uploading (SQLite), the most frequent:');
  for (const [sql, n] of [...writes.readsBySql].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${per(n).padStart(6)}  ${sql}`);
  if (trips.size > 0) console.log('  round trips by statement:');
  for (const [sql, n] of [...trips].sort((a, b) => b[1] - a[1])) console.log(`  ${per(n).padStart(6)}  ${sql}`);
} finally {
  sink.child.kill();
  fs.rmSync(workDir, { recursive: true, force: true });
}
