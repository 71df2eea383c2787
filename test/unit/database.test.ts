// The job database survives SIGKILL mid-write; a damaged one is moved aside with a clear message, never silently emptied.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Job } from '../../shared/types.js';
import { hoist } from '../support/hoist-cli.js';
import { sleep, until } from '../support/engine.js';
import { recordResult } from '../support/results.js';
import { tempDir, writeRandomFile } from '../support/s3.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'db-writer.js');
const dir = tempDir('database');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

test('SIGKILL during writes, 30 times: the database opens, passes integrity_check, and no committed part is lost', { timeout: 5 * 60_000 }, async () => {
  const db = path.join(dir, 'killed.db');
  const reported = new Set<string>();
  const KILLS = 30;
  for (let k = 0; k < KILLS; k++) {
    const child = spawn(process.execPath, [WRITER, db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const wanted = randomInt(1, 400);
    await until(`the writer to commit ${wanted} parts`, () => out.split('\n').length > wanted || err.length > 0);
    assert.equal(err, '', 'the writer opened the database left by the previous kill');
    await sleep(randomInt(0, 30)); // a random moment while it keeps writing
    child.kill('SIGKILL');
    assert.equal(await closed, 'SIGKILL');
    // Only whole lines: each was printed after its transaction committed.
    for (const line of out.split('\n').slice(0, -1)) reported.add(line.slice('done '.length));
  }
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    assert.equal(ro.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(ro.pragma('journal_mode', { simple: true }), 'wal');
    const done = new Set((ro.prepare(`SELECT job_id || ' ' || part_number AS p FROM parts WHERE state = 'done'`).all() as { p: string }[]).map((r) => r.p));
    const lost = [...reported].filter((p) => !done.has(p));
    assert.deepEqual(lost, [], 'parts reported committed before a kill are done in the database');
    console.log(`database: ${KILLS} kills, ${reported.size} committed parts reported, all present; integrity ok`);
    recordResult('database-kill', {
      what: `SIGKILL a process writing the job database (parts done, events, 2,000-part job inserts) ${KILLS} times`,
      outcome: `integrity_check ok after every kill; all ${reported.size} parts reported committed are done`,
    });
  } finally {
    ro.close();
  }
});

async function realDatabase(name: string): Promise<string> {
  const db = path.join(dir, name);
  const file = await writeRandomFile(path.join(dir, `${name}.mov`), 1024);
  // Queued against an unreachable endpoint and left: the database holds a job, parts and history.
  const r = await hoist(['--db', db, '--endpoint', 'http://127.0.0.1:9', '--path-style', 'upload', file, '--bucket', 'footage', '--single-put-threshold', '0'], { HOIST_PART_ATTEMPTS: '1', HOIST_JOB_ATTEMPTS: '1' });
  assert.equal(r.code, 1, r.stderr);
  for (const suffix of ['-wal', '-shm']) assert.ok(!fs.existsSync(db + suffix), 'the database was checkpointed on close');
  return db;
}

async function expectMovedAside(db: string, original: Buffer, rebuilt: RegExp): Promise<string> {
  const r = await hoist(['--db', db, 'jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /hoist: db\.corrupt: The Hoist database is damaged\. It was moved aside and a new one rebuilt from what can be known\. The damaged file is at .*\.damaged-/);
  assert.match(r.stderr, rebuilt);
  const aside = /The damaged file is at (.*)\.$/m.exec(r.stderr)![1]!;
  assert.deepEqual(fs.readFileSync(aside), original, 'the damaged file is kept byte for byte');
  const again = await hoist(['--db', db, 'jobs']);
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.stderr, /db\.corrupt/, 'the fresh database is not moved aside again');
  return r.stdout;
}

function destinationNames(db: string): string[] {
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (ro.prepare('SELECT name FROM destinations ORDER BY id').all() as { name: string }[]).map((d) => d.name);
  } finally {
    ro.close();
  }
}

test('a file of random bytes in place of the database: moved aside with a clear message, kept intact; nothing to rebuild from', async () => {
  const db = path.join(dir, 'random.db');
  await writeRandomFile(db, 64 * 1024);
  const out = await expectMovedAside(db, fs.readFileSync(db), /hoist: Nothing could be rebuilt \(no recovery file, and no readable row in the damaged file\): the new database starts empty\./);
  assert.deepEqual((JSON.parse(out) as { jobs: Job[] }).jobs, []);
});

test('a real database cut in half: moved aside with a clear message, kept intact; its destination rebuilt from the recovery file', async () => {
  const db = await realDatabase('truncated.db');
  const whole = fs.readFileSync(db);
  fs.truncateSync(db, Math.floor(whole.length / 2));
  await expectMovedAside(db, fs.readFileSync(db), /hoist: Rebuilt from truncated\.db\.recovery\.json.*: 1 destination, 0 watched folders/);
  assert.deepEqual(destinationNames(db), ['footage@127.0.0.1:9']);
});

test('a real database with a damaged page in the middle: moved aside, not used half-broken; rebuilt from the recovery file', async () => {
  const db = await realDatabase('scribbled.db');
  const bytes = fs.readFileSync(db);
  const pageSize = bytes.readUInt16BE(16);
  // Scribble over every page but the header page: the schema survives, the tables do not.
  for (let at = pageSize; at < bytes.length; at += pageSize) bytes.fill(0xa5, at, at + Math.min(pageSize, 512));
  fs.writeFileSync(db, bytes);
  await expectMovedAside(db, bytes, /hoist: Rebuilt from scribbled\.db\.recovery\.json.*: 1 destination, 0 watched folders/);
  assert.deepEqual(destinationNames(db), ['footage@127.0.0.1:9']);
});
