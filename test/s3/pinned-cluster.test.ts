// Issue 15: folders pinned to the machines that see them. Two `hoist watch` processes on one
// PostgreSQL queue play two machines (HOIST_NODE_NAME station-1 and station-2): folder A is seen by
// both at different paths (a directory, and a symlink to its parent), folder B only by station-1.
// Real radosgw behind the fault proxy, which counts what each key was sent. On one box both paths
// can be read by either process, so what this shows is who claims what; that each machine reads
// through its own path is shown by the resolver's steps (test/support/pinned.ts), run here on
// PostgreSQL too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { MiB } from '../../shared/limits.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import type { Db } from '../../src-main/engine/store/db-types.js';
import { testDbPath, testEngine, until } from '../support/engine.js';
import { hoist, startHoist, type CliResult } from '../support/hoist-cli.js';
import { freshPgDatabase } from '../support/pg.js';
import { checkPinnedFolders } from '../support/pinned.js';
import { listUploads, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('pinned', { proxy: true });
process.env.HOIST_TEST_STORE = 'pg';

const LEASE_MS = 3000;
const env = (machine: string) => ({ HOIST_NODE_NAME: machine, HOIST_LEASE_MS: String(LEASE_MS), AWS_ACCESS_KEY_ID: s3Env().accessKeyId, AWS_SECRET_ACCESS_KEY: s3Env().secretAccessKey });

const opened: Db[] = [];
after(() => opened.forEach((db) => db.close()));

test('pinned folders on PostgreSQL: claims and offers only what the machine can read, each machine reading through its own path', async () => {
  const root = tempDir('pinned-pg');
  const db = openDatabase(freshPgDatabase('pinned')).db;
  opened.push(db);
  await checkPinnedFolders(db, root);
});

test('two machines, folder A seen by both at different paths and B by one: every file once, byte for byte, B only by its machine; B’s job waits for its machine when that one dies', async () => {
  const dir = tempDir('pinned-two');
  const real = path.join(dir, 'nas');
  const linked = path.join(dir, 'Volumes-NAS');
  for (const f of ['A', 'B']) fs.mkdirSync(path.join(real, f), { recursive: true });
  fs.symlinkSync(real, linked);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 5 * MiB, prefix: 'pinned' });
  await engine.close();
  const cli = ['--db', testDbPath(dir)];
  const db = openDatabase(testDbPath(dir)).db;
  opened.push(db);
  const peek = <T>(sql: string, ...args: unknown[]) => db.prepare(sql).all(...args) as T[];
  const run = async (machine: string, ...args: string[]) => {
    const r = await hoist([...cli, ...args], env(machine));
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  // Added on station-1 (pinned there); station-2 sees A through its own path.
  for (const f of ['A', 'B']) await run('station-1', 'folders', 'add', path.join(real, f), '--to', dest.name, '--prefix', f, '--stable-for', '300ms');
  const [a, b] = peek<{ id: number }>('SELECT id FROM watched_folders ORDER BY id').map((r) => Number(r.id)) as [number, number];
  const listed = await run('station-2', 'folders', 'path', String(a), path.join(linked, 'A'), '--json');
  assert.deepEqual((JSON.parse(listed.stdout) as { machines: Array<{ machine: string }> }).machines.map((m) => m.machine), ['station-1', 'station-2']);

  const start = (machine: string) => startHoist([...cli, 'watch'], env(machine));
  const nodes = { one: start('station-1'), two: start('station-2') };
  const nodeOf = (machine: string) => peek<{ id: string }>(`SELECT id FROM nodes WHERE host = ? AND state = 'working'`, machine)[0]?.id;
  const ended: Array<Promise<CliResult>> = [];
  const files: string[] = [];
  let bigJob = 0;
  try {
    await until('both machines working', () => nodeOf('station-1') && nodeOf('station-2'));
    const two = nodeOf('station-2')!;
    proxy.reset();
    // About a quarter of a second per file at the proxy: both machines' claims overlap.
    proxy.setBandwidth(2 * MiB, { perRequest: true });
    for (let i = 0; i < 16; i++) files.push(await writeRandomFile(path.join(real, 'A', `A${String(i).padStart(3, '0')}.mxf`), 256 * 1024 + i * 4096));
    for (let i = 0; i < 6; i++) files.push(await writeRandomFile(path.join(real, 'B', `B${String(i).padStart(3, '0')}.mxf`), 256 * 1024 + i * 4096));
    await until('all 22 jobs done', () => peek<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE state = 'done'`)[0]?.n === 22, 180_000);

    const byMachine = peek<{ folder_id: number; host: string; n: number }>(`SELECT j.folder_id, n.host, count(*) AS n FROM jobs j JOIN nodes n ON n.id = j.lease_owner GROUP BY j.folder_id, n.host`);
    const hosts = (folder: number) => byMachine.filter((r) => Number(r.folder_id) === folder).map((r) => r.host).sort();
    assert.deepEqual(hosts(b), ['station-1'], `B's files only by station-1: ${JSON.stringify(byMachine)}`);
    assert.deepEqual(hosts(a), ['station-1', 'station-2'], `A's files by both: ${JSON.stringify(byMachine)}`);

    // station-1 dies holding a job of B: station-2 takes its lease over but never the job; station-1 back, it finishes.
    proxy.setBandwidth(3 * MiB);
    const big = await writeRandomFile(path.join(real, 'B', 'B-big.mov'), 40 * MiB);
    files.push(big);
    bigJob = await until('B-big running on station-1 with a part recorded', () => peek<{ id: number }>(`SELECT j.id FROM jobs j JOIN nodes n ON n.id = j.lease_owner
      WHERE j.key = 'pinned/B/B-big.mov' AND j.state = 'running' AND n.host = 'station-1' AND EXISTS (SELECT 1 FROM parts p WHERE p.job_id = j.id AND p.state = 'done')`)[0]?.id);
    nodes.one.child.kill('SIGKILL');
    await nodes.one.done;
    await until('its lease taken over', () => peek(`SELECT 1 FROM job_events WHERE job_id = ? AND kind = 'taken-over'`, bigJob).length === 1, 60_000);
    const heldBy = new Set<string>();
    for (let t = 0; t < 3 * LEASE_MS; t += 200) {
      const row = peek<{ state: string; lease_owner: string | null }>('SELECT state, lease_owner FROM jobs WHERE id = ?', bigJob)[0]!;
      if (row.lease_owner) heldBy.add(row.lease_owner);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(!heldBy.has(two), 'station-2 never claimed B’s job');
    assert.equal(peek<{ state: string }>('SELECT state FROM jobs WHERE id = ?', bigJob)[0]!.state, 'queued', 'it waits for station-1');
    assert.equal(nodes.two.child.exitCode, null, 'while station-2 works on');
    nodes.one = start('station-1');
    await until('B-big done by station-1 again', () => peek<{ state: string; host: string }>(`SELECT j.state, n.host FROM jobs j JOIN nodes n ON n.id = j.lease_owner WHERE j.id = ?`, bigJob)[0]?.host === 'station-1'
      && peek<{ state: string }>('SELECT state FROM jobs WHERE id = ?', bigJob)[0]!.state === 'done', 120_000);
  } finally {
    proxy.setBandwidth(null);
    for (const n of Object.values(nodes)) {
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGINT');
      ended.push(n.done);
    }
    await Promise.all(ended);
  }

  // Key: the destination's prefix, the folder's (its name), the path under it.
  const keys = files.map((f) => `pinned/${path.relative(real, f).split(path.sep).join('/')}`);
  const sends = new Map<string, number>();
  for (const r of proxy.requests().filter((q) => q.operation === 'PutObject' || q.operation === 'CreateMultipartUpload')) {
    const key = decodeURIComponent(r.path.slice(`/${bucket}/`.length));
    sends.set(key, (sends.get(key) ?? 0) + 1);
  }
  assert.deepEqual(keys.map((k) => [k, sends.get(k) ?? 0]), keys.map((k) => [k, 1]), 'each file sent once');
  assert.equal(peek<{ n: number }>('SELECT count(*) AS n FROM jobs')[0]!.n, files.length, 'one job per file');
  for (const [i, f] of files.entries()) assert.equal(await sha256OfObject(client, bucket, keys[i]!), await sha256OfFile(f), keys[i]);
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key.startsWith('pinned/')), [], 'no upload left on the bucket');
  fs.rmSync(dir, { recursive: true, force: true });
});
