// SIGKILL at random moments, again and again: every file arrives whole, only parts in flight are re-sent, nothing is left in the bucket.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Job } from '../../shared/types.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { sleep, until } from '../support/engine.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('crash', { proxy: true });

const MIN_KILLS = 20;
const PART_SIZE = 8 * MiB;
const CONCURRENCY = 4;

/** `key#partNumber` of every part the database records as done, read without disturbing the writer. */
function recordedParts(db: string): Set<string> {
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const rows = ro.prepare(`SELECT j.key AS key, p.part_number AS n FROM parts p JOIN jobs j ON j.id = p.job_id WHERE p.state = 'done'`).all() as { key: string; n: number }[];
    return new Set(rows.map((r) => `${r.key}#${r.n}`));
  } finally {
    ro.close();
  }
}

function recordedOrEmpty(db: string): Set<string> {
  try {
    return recordedParts(db);
  } catch {
    return new Set(); // not created yet, or busy: poll again
  }
}

/** `key#partNumber` of an UploadPart request as the proxy saw it (path-style: /bucket/key). */
function partOf(r: { path: string; query: string }): string {
  const key = decodeURIComponent(r.path.split('/').slice(2).join('/'));
  return `${key}#${new URLSearchParams(r.query).get('partNumber')}`;
}

const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

test(`${MIN_KILLS}+ SIGKILLs across 1 GiB of files: whole objects, no leftovers, only in-flight parts re-sent`, { timeout: 20 * 60_000 }, async () => {
  const db = path.join(dir, 'hoist.db');
  const sizes = { 'A001C001.mov': 512 * MiB, 'A001C002.mov': 384 * MiB, 'A001C003.mov': 160 * MiB };
  const files = await Promise.all(Object.entries(sizes).map(([name, size]) => writeRandomFile(path.join(dir, name), size)));
  const totalBytes = Object.values(sizes).reduce((a, b) => a + b, 0);
  const cli = ['--db', db, '--endpoint', proxy.url, '--path-style'];
  proxy.reset();

  // Each kill: the request log position when the killed process was gone, and what it had recorded by then.
  const kills: Array<{ logLength: number; recorded: Set<string> }> = [];
  let args = [...cli, 'upload', ...files, '--bucket', bucket, '--prefix', 'crash', '--part-size', '8MiB', '--concurrency', String(CONCURRENCY), '--single-put-threshold', '0'];
  for (;;) {
    const run = startHoist(args);
    args = [...cli, 'run'];
    const before = recordedOrEmpty(db).size;
    const wanted = before + randomInt(1, 4);
    let finished = false;
    void run.done.then(() => (finished = true));
    await until('more parts recorded, or the run to end', () => finished || recordedOrEmpty(db).size >= wanted, 5 * 60_000);
    if (finished) {
      const r = await run.done;
      assert.equal(r.code, 0, `a run ended on its own but not cleanly: ${r.stderr}`);
      break;
    }
    // A random moment after the progress we waited for: mid-part, mid-record, mid-Complete.
    await sleep(randomInt(0, 400));
    run.child.kill('SIGKILL');
    const r = await run.done;
    if (r.signal !== 'SIGKILL') {
      assert.equal(r.code, 0, r.stderr);
      break; // it finished just before the signal
    }
    await sleep(200); // let the proxy take in whatever the dead process had already written to its sockets
    kills.push({ logLength: proxy.requests().length, recorded: recordedParts(db) });
    if (kills.length >= MIN_KILLS + 2) {
      const last = await hoist([...cli, 'run', '--json']);
      assert.equal(last.code, 0, last.stderr);
      break;
    }
  }
  assert.ok(kills.length >= MIN_KILLS, `only ${kills.length} kills before the upload finished`);

  const listed = await hoist(['--db', db, 'jobs', '--json']);
  const jobs = (JSON.parse(listed.stdout) as { jobs: Job[] }).jobs;
  assert.deepEqual(jobs.map((j) => j.state), ['done', 'done', 'done'], JSON.stringify(jobs.map((j) => j.error)));
  for (const file of files) {
    const key = `crash/${path.basename(file)}`;
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), `${key} differs from its source`);
  }
  assert.deepEqual(await listUploads(client, bucket), [], 'no incomplete multipart upload is left in the bucket');

  const log = proxy.requests();
  const partRequests = log.map((r, i) => ({ r, i })).filter(({ r }) => r.operation === 'UploadPart');
  for (const [k, kill] of kills.entries()) {
    for (const { r, i } of partRequests) {
      if (i >= kill.logLength) assert.ok(!kill.recorded.has(partOf(r)), `${partOf(r)} was recorded before kill ${k + 1} and sent again after it`);
    }
  }
  const sentBytes = partRequests.reduce((a, { r }) => a + r.requestBytes, 0);
  const resent = sentBytes - totalBytes;
  const allowance = kills.length * CONCURRENCY * PART_SIZE;
  console.log(`crash: ${kills.length} kills, ${partRequests.length} UploadPart requests, ${(sentBytes / MiB).toFixed(1)} MiB sent for ${totalBytes / MiB} MiB, ${(resent / MiB).toFixed(1)} MiB re-sent (allowed ${allowance / MiB} MiB)`);
  assert.ok(sentBytes >= totalBytes, 'every byte went out at least once');
  assert.ok(resent <= allowance, `re-sent ${resent} bytes, more than the ${allowance} in flight at ${kills.length} kills`);
  recordResult('crash', {
    what: `SIGKILL ${kills.length} times during 3 files, ${totalBytes / MiB} MiB, ${PART_SIZE / MiB} MiB parts, concurrency ${CONCURRENCY}; hoist run resumes each time`,
    outcome: `all SHA-256 equal, 0 uploads left; ${(resent / MiB).toFixed(1)} MiB re-sent of ${allowance / MiB} MiB allowed; no recorded part re-sent`,
  });
});
