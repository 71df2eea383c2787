// The queue at scale (issue 14), below the UI: a filter means the same jobs for a page, a count and a
// bulk command (states, a case-insensitive file-name search, cleared rows left out); bulk commands
// change only the jobs their action applies to, each with its history entry, in one transaction;
// "Clear finished" keeps the records (by id, and for what relies on them) and a job that needs
// attention again comes back on the list.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { JobCommands } from '../../src-main/engine/job-commands.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { JobStore, type JobRecord } from '../../src-main/engine/store/job-store.js';
import { MIGRATIONS } from '../../src-main/engine/store/migrations.js';
import { hoist } from '../support/hoist-cli.js';
import { tempDir } from '../support/s3.js';

const destination = {
  name: 'd', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'bucket', prefix: '', pathStyle: true, profile: null,
  storageClass: null, sse: null, sseKmsKeyId: null, partSize: 5 << 20, concurrency: 2, singlePutThreshold: 0,
  maxObjectSize: 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
};

function setup(file = path.join(tempDir('job-bulk'), 'hoist.db')): { store: JobStore; commands: JobCommands; add(source: string, key?: string): JobRecord; pokes: () => number } {
  const store = new JobStore(openDatabase(file).db);
  const d = store.upsertDestination(destination);
  let pokes = 0;
  const commands = new JobCommands(store, { poke: () => pokes++, settleOwedAborts: async () => [] });
  const add = (source: string, key = source.slice(1)) =>
    store.insertJob(
      { destinationId: d.id, sourcePath: source, bucket: 'bucket', key, size: 10, mtimeMs: 1, inode: '1', contentType: 'video/mp4', mode: 'single', partSize: 10, priority: 'normal', checksumAlgorithm: null },
      [{ partNumber: 1, offset: 0, length: 10 }],
    );
  return { store, commands, add, pokes: () => pokes };
}

const ids = (jobs: { id: number }[]) => jobs.map((j) => j.id);

test('search: a case-insensitive substring of the key or the source path, short or long, with nothing in it taken as syntax', () => {
  const { store, add } = setup();
  const a = add('/Volumes/CARD_A/A002_C001_0925XY.MOV', 'day01/A002_C001_0925XY.MOV');
  const b = add('/Volumes/CARD_A/A002_C002_0925XY.mov', 'day01/A002_C002_0925XY.mov');
  const c = add('/home/ana/render "final" OR v2*.mov', 'renders/render "final" OR v2*.mov');
  const found = (search: string) => ids(store.queryJobs({ search }).jobs);
  assert.deepEqual(found('c001'), [a.id], 'in the key, whatever the case');
  assert.deepEqual(found('card_a'), [a.id, b.id], 'in the source path only');
  assert.deepEqual(found('0925xy.mov'), [a.id, b.id]);
  assert.deepEqual(found('c2'), [], 'two characters: a scan, still a substring');
  assert.deepEqual(found('02'), [a.id, b.id]);
  assert.deepEqual(found('"final" or'), [c.id], 'quotes and OR are text');
  assert.deepEqual(found('v2*'), [c.id], 'a star is text');
  assert.deepEqual(found('  c001 '), [a.id], 'surrounding spaces are dropped');
  assert.deepEqual(found('nothing-like-it'), []);
  assert.equal(store.queryJobs({ search: 'A002', states: ['queued'], limit: 1 }).total, 2, 'the total counts every match, not the page');
  // A key changed later (keep-both picks another name) is searched by its new name.
  store.setKeyDecision(c.id, { keySeen: 'e', outcome: 'kept-both', key: 'renders/render (1).mov' });
  assert.deepEqual(found('render (1)'), [c.id]);
});

test('bulk pause by ids changes only the queued and running ones, each with a history entry, and pokes the scheduler once', () => {
  const { store, commands, add, pokes } = setup();
  const jobs = [1, 2, 3, 4, 5].map((i) => add(`/m/clip${i}.mov`));
  store.transition(jobs[1]!.id, ['queued'], 'running');
  store.transition(jobs[2]!.id, ['queued'], 'failed', { error: { code: 'net.unreachable', message: 'x' } });
  const before = pokes();
  const out = commands.act({ ids: [jobs[0]!.id, jobs[1]!.id, jobs[2]!.id, 999] }, 'pause');
  assert.deepEqual(out, { matched: 3, changed: [jobs[0]!.id, jobs[1]!.id] }, 'an unknown id is not matched; a failed job is not paused');
  assert.equal(pokes() - before, 1);
  assert.deepEqual(store.listJobs().map((j) => j.state), ['paused', 'paused', 'failed', 'queued', 'queued']);
  assert.equal(store.events(jobs[0]!.id).at(-1)?.kind, 'paused');
  assert.notEqual(store.events(jobs[2]!.id).at(-1)?.kind, 'paused');
  const resumed = commands.act({ filter: { states: ['paused'] } }, 'resume');
  assert.deepEqual(resumed.changed, [jobs[0]!.id, jobs[1]!.id]);
  assert.equal(store.events(jobs[1]!.id).at(-1)?.kind, 'resumed');
});

test('a filter means every matching job on the host, not a page; priority counts only the jobs it changes', () => {
  const { store, commands, add } = setup();
  for (let i = 0; i < 700; i++) add(`/m/${i % 2 ? 'proxy' : 'clip'}${i}.mov`);
  const out = commands.act({ filter: { search: 'proxy' } }, { priority: 'high' });
  assert.deepEqual([out.matched, out.changed.length], [350, 350]);
  assert.equal(store.listJobs().filter((j) => j.priority === 'high').length, 350);
  assert.equal(commands.act({ filter: { search: 'proxy' } }, { priority: 'high' }).changed.length, 0, 'already high');
});

test('retry takes failed jobs and flagged done ones; cancel owes the uploads\' aborts in the same transaction', async () => {
  const { store, commands, add } = setup();
  const [failed, flagged, done, paused] = [1, 2, 3, 4].map((i) => add(`/m/clip${i}.mov`));
  store.transition(failed!.id, ['queued'], 'failed', { error: { code: 'net.unreachable', message: 'x' } });
  for (const j of [flagged!, done!]) store.transition(j.id, ['queued'], 'done', { etag: 'e' });
  store.setFlag(flagged!.id, { code: 'cleanup.object-missing', message: 'gone' });
  store.transition(paused!.id, ['queued'], 'paused');
  const all = [failed!.id, flagged!.id, done!.id, paused!.id];
  assert.deepEqual(commands.act({ ids: all }, 'retry').changed, [failed!.id, flagged!.id]);
  assert.deepEqual(all.map((id) => store.getJob(id)!.state), ['queued', 'queued', 'done', 'paused']);
  store.setUploadId(paused!.id, 'upload-1');
  const cancelled = await commands.act({ ids: all }, 'cancel');
  assert.deepEqual(cancelled.changed, [failed!.id, flagged!.id, paused!.id], 'done is never left');
  assert.deepEqual(store.remoteAbortsOf(paused!.id).map((a) => a.uploadId), ['upload-1']);
});

test('clear finished: done and cancelled rows leave the list and the counts, keep their records, and come back when they need attention', () => {
  const { store, commands, add } = setup();
  const [done, cancelled, flagged, failed, queued] = [1, 2, 3, 4, 5].map((i) => add(`/m/clip${i}.mov`));
  for (const j of [done!, flagged!]) store.transition(j.id, ['queued'], 'done', { etag: 'e' });
  store.setFlag(flagged!.id, { code: 'cleanup.object-changed', message: 'changed' });
  store.cancelJob(cancelled!);
  store.transition(failed!.id, ['queued'], 'failed', { error: { code: 'net.unreachable', message: 'x' } });
  const out = commands.act({ filter: {} }, 'clear');
  assert.deepEqual(out, { matched: 5, changed: [done!.id, cancelled!.id] }, 'a flagged done job stays: it asks for something');
  assert.deepEqual(ids(store.queryJobs().jobs), [flagged!.id, failed!.id, queued!.id]);
  assert.deepEqual(store.totals().byState, { done: 1, failed: 1, queued: 1 });
  assert.equal(store.queryJobs({ search: 'clip1' }).total, 0, 'nor found by search');
  // The records stay: by id, in the full list, and for the part sizes skip-identical tries at a key.
  assert.ok(store.getJob(done!.id)!.clearedAt);
  assert.deepEqual(ids(store.listJobs()), [done!.id, cancelled!.id, flagged!.id, failed!.id, queued!.id]);
  assert.deepEqual(ids(store.listJobs({ listed: true })), [flagged!.id, failed!.id, queued!.id]);
  assert.equal(commands.act({ filter: {} }, 'clear').changed.length, 0, 'cleared once');
  // Flagged after it was cleared (its object was found changed): back on the list.
  store.setFlag(done!.id, { code: 'cleanup.object-missing', message: 'gone' });
  assert.equal(store.getJob(done!.id)!.clearedAt, null);
  // Sent again from there: queued, and listed.
  assert.deepEqual(commands.act({ ids: [done!.id] }, 'retry').changed, [done!.id]);
  assert.deepEqual([store.getJob(done!.id)!.state, store.getJob(done!.id)!.clearedAt], ['queued', null]);
  assert.ok(ids(store.queryJobs().jobs).includes(done!.id));
});

test('the queue sorted by state pages by state then id, read in order from an index, in both directions (no sort of the whole list)', () => {
  const { store, add } = setup();
  const jobs = [1, 2, 3, 4, 5, 6].map((i) => add(`/m/state${i}.mov`));
  store.transition(jobs[1]!.id, ['queued'], 'failed', { error: { code: 'net.unreachable', message: 'x' } });
  for (const j of [jobs[2]!, jobs[4]!]) store.transition(j.id, ['queued'], 'done', { etag: 'e' });
  store.transition(jobs[5]!.id, ['queued'], 'running');
  const [q1, f2, d3, q4, d5, r6] = jobs.map((j) => j.id) as [number, number, number, number, number, number];
  assert.deepEqual(ids(store.queryJobs({ sort: 'state' }).jobs), [d3, d5, f2, q1, q4, r6]);
  assert.deepEqual(ids(store.queryJobs({ sort: 'state', descending: true }).jobs), [r6, q4, q1, f2, d5, d3]);
  assert.deepEqual(ids(store.queryJobs({ sort: 'state', offset: 2, limit: 2 }).jobs), [f2, q1]);
  // The plan: every state change rewrites each index holding the state (issue 12), so this page has
  // no index of its own; it must read the list's (state, cleared_at) index in order, not sort.
  const seen: string[] = [];
  const prepare = store.db.prepare.bind(store.db);
  (store.db as { prepare: typeof store.db.prepare }).prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof store.db.prepare;
  for (const descending of [false, true]) {
    seen.length = 0;
    store.queryJobs({ sort: 'state', descending, limit: 100 });
    const sql = seen.find((s) => s.includes('ORDER BY'))!;
    const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(100, 0) as { detail: string }[]).map((r) => r.detail);
    assert.ok(!plan.some((d) => /TEMP B-TREE FOR (LAST TERM OF )?ORDER BY/.test(d)), plan.join('\n'));
  }
});

test('the migration indexes the names of jobs made before it', () => {
  const file = path.join(tempDir('job-bulk'), 'hoist.db');
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.exec('BEGIN');
  for (const sql of MIGRATIONS.slice(0, -1)) raw.exec(sql);
  raw.pragma(`user_version = ${MIGRATIONS.length - 1}`);
  raw.exec('COMMIT');
  const d = raw.prepare(`INSERT INTO destinations (name, region, bucket, prefix, path_style, part_size, concurrency, single_put_threshold, max_object_size, max_parts, created_at)
    VALUES ('d', 'us-east-1', 'bucket', '', 1, 5242880, 2, 0, 1099511627776, 10000, 0)`).run().lastInsertRowid;
  raw.prepare(`INSERT INTO jobs (destination_id, source_path, bucket, key, size, mtime_ms, inode, content_type, mode, part_size, part_count, state, created_at, updated_at)
    VALUES (?, '/old/A001_C007.mov', 'bucket', 'old/A001_C007.mov', 1, 1, '1', 'x', 'single', 1, 1, 'done', 0, 0)`).run(d);
  raw.close();
  const store = new JobStore(openDatabase(file).db);
  assert.deepEqual(store.queryJobs({ search: 'a001_c007' }).jobs.map((j) => j.key), ['old/A001_C007.mov']);
});

test('the CLI matches: `hoist jobs clear-finished`, `hoist jobs` without them and `--all` with them, `hoist retry --all-failed`', async () => {
  const db = path.join(tempDir('job-bulk-cli'), 'hoist.db');
  const { store, add } = setup(db);
  const [done, failed1, failed2, queued] = [1, 2, 3, 4].map((i) => add(`/m/clip${i}.mov`));
  store.transition(done!.id, ['queued'], 'done', { etag: 'e' });
  for (const j of [failed1!, failed2!]) store.transition(j.id, ['queued'], 'failed', { error: { code: 'net.unreachable', message: 'x' } });
  store.db.close();
  const listed = async (...more: string[]) => {
    const r = await hoist(['--db', db, 'jobs', '--json', ...more]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { jobs: { id: number; state: string; clearedAt: string | null }[] }).jobs;
  };
  const cleared = await hoist(['--db', db, 'jobs', 'clear-finished']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stderr, /cleared 1 finished job\(s\)/);
  assert.deepEqual((await listed()).map((j) => j.id), [failed1!.id, failed2!.id, queued!.id]);
  const all = await listed('--all');
  assert.deepEqual(all.map((j) => j.id), [done!.id, failed1!.id, failed2!.id, queued!.id]);
  assert.ok(all[0]!.clearedAt, 'the cleared job says when');
  const retried = await hoist(['--db', db, 'retry', '--all-failed']);
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stderr, /2 failed job\(s\) queued again/);
  assert.deepEqual((await listed()).map((j) => j.state), ['queued', 'queued', 'queued']);
  const both = await hoist(['--db', db, 'retry', '3', '--all-failed']);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /Give a job id or --all-failed to retry/);
});
