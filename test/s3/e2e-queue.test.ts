// The queue at scale (issue 14) end to end: Debian's Chromium on the real headless host, with the
// real engine and the local S3 server behind it. Three jobs picked with a click, Shift+click and
// Ctrl+click are paused together (in the store, the others not); "Retry all failed" sends jobs that
// failed on a missing bucket once it exists; "Clear finished" takes done rows off the list while
// skip-identical still finds their part sizes (a file sent again is proven already there) and the
// CLI still lists them with --all; then 100,000 jobs in the store: a page, the next page, a state
// filter and a search are timed in the UI (printed, never asserted), and "select all in this
// filter" changes the priority of every match on the host, not only the page loaded. Screenshots
// of the new states, light and dark, land in build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import type { Destination, Job } from '../../shared/types.js';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { screenshotBothThemes } from '../support/browser.js';
import { testEngine, until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { serveApp, type AppUnderTest } from '../support/ui-session.js';
import { MiB, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 120_000;
const SEEDED = 100_000;

const { client, endpoint, bucket, dir, onClose } = await s3Fixture('e2e-queue');
const lateBucket = `${bucket}-late`;
const dbPath = path.join(dir, 'hoist.db');
let engine: Engine;
let dest: Destination;
let api: EngineApi;
let app: AppUnderTest;
let page: Page;
let pageErrors: string[];

before(async () => {
  ({ engine, dest } = testEngine(dir, { endpoint, bucket, name: 'Dailies (local S3)' }));
  api = new EngineApi(engine, { roots: [dir] });
  engine.start();
  app = await serveApp(api, WAIT_MS);
  ({ page, pageErrors } = app);
});

onClose(async () => {
  await app?.close();
  await engine?.close();
  // The bucket this test made itself (the fixture removes its own).
  const listed = await client.send(new ListObjectsV2Command({ Bucket: lateBucket })).catch(() => null);
  for (const o of listed?.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: lateBucket, Key: o.Key! }));
  if (listed) await client.send(new DeleteBucketCommand({ Bucket: lateBucket }));
});

const rows = () => page.getByTestId('job-row');
const rowOf = (id: number) => page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
const stateOf = (id: number) => engine.getJob(id)!.state;
const byIdsShown = async () => (await rows().evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-job-id')))));

async function write(name: string, size: number): Promise<string> {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return writeRandomFile(file, size);
}

/** What the table shows has been listed with this filter (the host answered it). */
async function shows(states: string, search: string): Promise<void> {
  await page.locator(`[data-testid="job-table"][data-shown-states="${states}"][data-shown-search="${search}"]`).waitFor();
}

test('three jobs picked with click, Shift+click and Ctrl+click are paused together: in the store, and no other', async () => {
  // Slow enough that none finishes while the test picks them (the engine's own limit; nothing faked).
  engine.pace.setBandwidthLimit({ destinationId: null, bytesPerSecond: 128 * 1024 });
  const files = await Promise.all([1, 2, 3, 4, 5].map((i) => write(`selection/A003_C00${i}.mov`, 6 * MiB)));
  const jobs = await engine.enqueue(files, { destination: dest, prefix: 'selection' });
  await until('the five rows', async () => (await rows().count()) === 5);
  const shown = await byIdsShown();
  // A click on a row's cell picks it alone; Shift+click adds the range; Ctrl+click toggles one.
  await rowOf(shown[0]!).locator('td.num').first().click();
  await rowOf(shown[2]!).locator('td.num').first().click({ modifiers: ['Shift'] });
  await rowOf(shown[4]!).getByTestId('job-select').click({ modifiers: ['Control'] });
  await page.locator('[data-testid="selection-count"][data-count="4"]').waitFor();
  await rowOf(shown[4]!).locator('td.num').first().click({ modifiers: ['Control'] });
  await page.locator('[data-testid="selection-count"][data-count="3"]').waitFor();
  const picked = shown.slice(0, 3);
  for (const id of shown) assert.equal(await rowOf(id).getAttribute('aria-selected'), String(picked.includes(id)), `row ${id}`);
  await screenshotBothThemes(page, 'queue-selection');

  await page.getByTestId('bulk-pause').click();
  await until('the three picked to be paused in the store', () => picked.every((id) => stateOf(id) === 'paused'));
  for (const id of picked) await rowOf(id).and(page.locator('[data-state="paused"]')).waitFor();
  const others = jobs.map((j) => j.id).filter((id) => !picked.includes(id));
  assert.deepEqual(others.map(stateOf).filter((s) => s === 'paused'), [], 'the two not picked go on');
  await page.getByTestId('notice-success').filter({ hasText: 'Paused 3 jobs.' }).waitFor();

  // Resumed together, at full speed: all five arrive whole.
  engine.pace.setBandwidthLimit({ destinationId: null, bytesPerSecond: null });
  await page.getByTestId('bulk-resume').click();
  await until('all five to be done', () => jobs.every((j) => stateOf(j.id) === 'done'), WAIT_MS);
  for (const [i, f] of files.entries()) assert.equal(await sha256OfObject(client, bucket, `selection/A003_C00${i + 1}.mov`), await sha256OfFile(f));
  await page.getByTestId('selection-clear').click();
});

test('"Retry all failed" sends again every failed job: they failed on a missing bucket and arrive once it exists', async () => {
  const late = engine.upsertDestination({ ...dest, name: 'Late bucket (local S3)', bucket: lateBucket });
  const files = await Promise.all(['B001.mov', 'B002.mov'].map((n) => write(`late/${n}`, 2 * MiB)));
  const jobs = await engine.enqueue(files, { destination: late, prefix: 'late' });
  await until('both to fail on the missing bucket', () => jobs.every((j) => stateOf(j.id) === 'failed'), WAIT_MS);
  assert.equal(engine.getJob(jobs[0]!.id)!.error?.code, 's3.no-such-bucket');
  await page.getByTestId('filter-failed').click();
  await shows('failed', '');
  await until('the two failed rows', async () => (await rows().count()) === 2);
  await screenshotBothThemes(page, 'queue-failed');

  await client.send(new CreateBucketCommand({ Bucket: lateBucket }));
  await page.getByTestId('retry-all-failed').click();
  await until('both to arrive', () => jobs.every((j) => stateOf(j.id) === 'done'), WAIT_MS);
  for (const [i, f] of files.entries()) assert.equal(await sha256OfObject(client, lateBucket, `late/B00${i + 1}.mov`), await sha256OfFile(f));
  // The CLI finds the same two by name, as the search box does (any case, key or source path).
  const found = await hoist(['--db', dbPath, 'jobs', '--json', '--search', 'late/b00']);
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual((JSON.parse(found.stdout) as { jobs: Job[] }).jobs.map((j) => j.id).sort((a, b) => a - b), jobs.map((j) => j.id).sort((a, b) => a - b));
  await page.getByTestId('filter-all').click();
  await shows('', '');
});

test('"Clear finished" takes done rows off the list, keeping what skip-identical needs: the same file sent again is already there', async () => {
  // Sent in 7 MiB parts: a layout only this job's record knows (radosgw does not answer HeadObject by
  // part number, and 7 MiB is none of the common sizes), so proving it again needs the cleared row.
  const file = await write('history/A004_C001.mov', 15 * MiB);
  const [first] = await engine.enqueue([file], { destination: dest, key: 'history/A004_C001.mov', partSize: 7 * MiB, singlePutThreshold: 0 });
  await until('the first upload', () => stateOf(first!.id) === 'done', WAIT_MS);
  assert.deepEqual([engine.getJob(first!.id)!.partCount, engine.getJob(first!.id)!.outcome], [3, 'created']);
  const finished = engine.listJobs({ states: ['done', 'cancelled'] }).map((j) => j.id);
  await until('every finished row shown', async () => (await rows().count()) === finished.length);

  await page.getByTestId('clear-finished').click();
  await page.getByTestId('queue-empty').waitFor();
  await page.getByTestId('notice-success').filter({ hasText: `Cleared ${finished.length} job${finished.length === 1 ? '' : 's'}.` }).waitFor();
  await screenshotBothThemes(page, 'queue-cleared');
  assert.ok(finished.every((id) => engine.getJob(id)!.clearedAt), 'each record stays, marked cleared');

  // The CLI, another process on the same database, agrees: gone from the list, there with --all.
  const list = async (...more: string[]) => {
    const r = await hoist(['--db', dbPath, 'jobs', '--json', ...more]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { jobs: Job[] }).jobs;
  };
  assert.deepEqual((await list()).filter((j) => finished.includes(j.id)), []);
  const all = await list('--all');
  assert.deepEqual(all.filter((j) => finished.includes(j.id)).map((j) => j.id), finished);
  assert.ok(all.find((j) => j.id === first!.id)!.clearedAt);

  // The same file again, from the host's API as the send sheet does it, in the destination's plan (5 MiB, one PUT).
  const sent = await api.sendFiles({ paths: [file], destinationId: dest.id, prefix: 'history', priority: 'normal', hashes: [], mhl: false });
  const again = sent.jobIds[0]!;
  await until('the second job to end', () => stateOf(again) === 'done', WAIT_MS);
  assert.equal(engine.getJob(again)!.outcome, 'already-there', engine.events(again).map((e) => e.message).join('\n'));
  await rowOf(again).and(page.locator('[data-outcome="already-there"]')).waitFor();
  assert.deepEqual(await byIdsShown(), [again], 'the cleared rows stay off the list');
});

test(`with ${SEEDED.toLocaleString('en')} jobs in the store the host pages, filters and searches; "select all in this filter" reaches every match`, { timeout: 15 * 60_000 }, async () => {
  const seeded = engine.upsertDestination({ ...dest, name: 'Archive (seeded)' });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  // One transaction through the store, as a folder of files is queued; the states are then set in one
  // statement, as bench/scale-bench.ts does. None is queued: these files do not exist, nothing runs them.
  engine.store.atomically(() => {
    for (let i = 1; i <= SEEDED; i++) {
      engine.store.insertJob(
        { destinationId: seeded.id, sourcePath: `/Volumes/CARD_${i % 200}/A${i}_C${i % 97}.mov`, bucket, key: `seed/card${i % 200}/A${i}_C${i % 97}.mov`, size: 1000 + i, mtimeMs: 0, inode: String(i), contentType: 'video/quicktime', mode: 'single', partSize: 1000 + i, priority: 'normal', checksumAlgorithm: null },
        [{ partNumber: 1, offset: 0, length: 1000 + i }],
      );
    }
    engine.store.db
      .prepare(`UPDATE jobs SET state = CASE id % 10 WHEN 7 THEN 'failed' WHEN 8 THEN 'paused' WHEN 9 THEN 'cancelled' ELSE 'done' END, finished_at = updated_at,
        error_code = CASE id % 10 WHEN 7 THEN 'net.unreachable' END, error_message = CASE id % 10 WHEN 7 THEN 'seeded' END WHERE destination_id = ?`)
      .run(seeded.id);
  });
  const used = process.cpuUsage(cpu);
  process.stdout.write(`# seeded ${SEEDED.toLocaleString('en')} jobs in one transaction: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU\n`);
  const figures: string[] = [];
  const timed = async (what: string, act: () => Promise<unknown>, done: () => Promise<unknown>) => {
    const start = performance.now();
    await act();
    await done();
    figures.push(`${what}: ${(performance.now() - start).toFixed(0)} ms`);
  };

  const total = engine.store.totals();
  const listed = Object.values(total.byState).reduce((a, b) => a + b, 0);
  await timed('the queue opened (first page of 100 and the counts)', () => page.reload(), async () => {
    await page.getByTestId('filter-all').filter({ hasText: listed.toLocaleString('en') }).waitFor();
    await until('a full page', async () => (await rows().count()) === 100);
  });
  const firstPage = await byIdsShown();
  await timed('the next page', () => page.getByRole('button', { name: 'Next' }).click(), () => until('another page', async () => (await byIdsShown())[0] !== firstPage[0]));
  await timed('the Failed filter (10,000 matches)', () => page.getByTestId('filter-failed').click(), () => shows('failed', ''));
  assert.equal(await page.locator('.pager').innerText().then((t) => /of 10,000/.test(t)), true);
  await page.getByTestId('filter-failed').click();
  await shows('', '');
  await timed('a search with one match (typed; includes the 200 ms pause the box waits for)', () => page.getByTestId('queue-search').fill('a99999_'), () => shows('', 'a99999_'));
  assert.deepEqual((await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))), ['seed/card199/A99999_C89.mov']);
  await screenshotBothThemes(page, 'queue-search');
  await timed('a search with 500 matches (same)', () => page.getByTestId('queue-search').fill('card17/'), () => shows('', 'card17/'));
  assert.match(await page.locator('.pager').innerText(), /of 500/);
  // The same questions asked of the host alone (no page, no bridge), for comparison.
  const sort = { limit: 100, sort: 'createdAt', descending: true } as const;
  await timed('host only: a page of 100', () => api.listJobs(sort), async () => undefined);
  await timed('host only: the counts', () => api.totals(), async () => undefined);
  await timed('host only: a page of the Failed filter', () => api.listJobs({ ...sort, states: ['failed'] }), async () => undefined);
  await timed('host only: a page of the 500-match search', () => api.listJobs({ ...sort, search: 'card17/' }), async () => undefined);
  process.stdout.write(`# queue with ${listed.toLocaleString('en')} jobs listed (wall clock, on a shared machine):\n${figures.map((f) => `#   ${f}\n`).join('')}`);

  // The page's box, then "all in this filter": the 500 matches on the host, though 100 are loaded.
  await page.getByTestId('select-page').click();
  await page.locator('[data-testid="selection-count"][data-count="100"]').waitFor();
  await page.getByTestId('select-all-filter').click();
  await page.locator('[data-testid="selection-count"][data-count="500"]').waitFor();
  await screenshotBothThemes(page, 'queue-select-all-filter');
  await page.getByTestId('bulk-priority').selectOption('high');
  await page.getByTestId('notice-success').filter({ hasText: 'Changed the priority of 500 jobs.' }).waitFor();
  const high = engine.listJobs().filter((j) => j.priority === 'high');
  assert.equal(high.length, 500);
  assert.ok(high.every((j) => j.key.includes('card17/')), 'only the matches');
  assert.deepEqual(pageErrors, []);
});
