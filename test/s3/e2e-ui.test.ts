// The UI end to end, as a person uses it: Debian's Chromium on the headless host, with a real
// engine and the real local S3 server behind it (a counting proxy in between, to see the traffic).
// Screenshots of every screen, light and dark, land in build/screenshots/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { requireMhlHash } from '../../src-main/engine/mhl/manifest.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import type { Destination } from '../../shared/types.js';
import { screenshotBothThemes } from '../support/browser.js';
import { doneParts, sleep, testEngine, until } from '../support/engine.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { cleanProxyEachTest, goTo, serveApp, unnamedControls, type AppUnderTest, type Screen } from '../support/ui-session.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 60_000;

const { client, bucket, proxy, dir, newBucket, onClose } = await s3Fixture('e2e-ui', { proxy: true });
let engine: Engine;
let dest: Destination;
let folders: FolderWatcher;
let api: EngineApi;
let app: AppUnderTest;
let page: Page;
let pageErrors: string[];

before(async () => {
  ({ engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, name: 'Dailies (local S3)' }));
  folders = new FolderWatcher(engine);
  api = new EngineApi(engine, { folders });
  engine.start();
  await folders.start();
  app = await serveApp(api, WAIT_MS);
  ({ page, pageErrors } = app);
});

onClose(async () => {
  await app?.close();
  await folders?.stop();
  await engine?.close();
  proxy?.setBandwidth(null);
});

cleanProxyEachTest(proxy);

const go = (nav: Screen) => goTo(page, nav);

/** Waits until a progress bar shows more than `min` percent; returns what it shows then. */
async function progressAbove(bar: Locator, min: number): Promise<number> {
  const handle = await bar.elementHandle();
  await page.waitForFunction(([el, m]) => Number(el!.getAttribute('aria-valuenow')) > m, [handle, min] as const);
  return Number(await bar.getAttribute('aria-valuenow'));
}

/** Picks the folder's destinations, in this order, in the open folder dialog. */
async function chooseDestinations(form: Locator, ids: number[]): Promise<void> {
  const rows = form.getByTestId('folder-destination-row');
  const chosen = () => rows.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-destination-id'))));
  for (const id of ids) {
    if ((await chosen()).includes(id)) continue;
    await form.getByTestId('folder-another-destination').selectOption(String(id));
    await form.getByTestId('folder-add-destination').click();
  }
  for (const id of await chosen()) {
    if (!ids.includes(id)) await form.locator(`[data-testid="folder-destination-row"][data-destination-id="${id}"]`).getByTestId('folder-destination-remove').click();
  }
  assert.deepEqual(await chosen(), ids, 'the destinations in the order asked for');
}

/** A dialog longer than the window, photographed whole: the window is made as tall as the form for the picture. */
async function screenshotTall(name: string): Promise<void> {
  const viewport = page.viewportSize()!;
  await page.setViewportSize({ width: viewport.width, height: 1500 });
  try {
    await screenshotBothThemes(page, name);
  } finally {
    await page.setViewportSize(viewport);
  }
}

function jobIdOf(key: string): number {
  const job = engine.listJobs().find((j) => j.key === key);
  assert.ok(job, `a job for ${key}`);
  return job.id;
}

test('a folder added in the UI: a file dropped in is queued, its bar moves, pause stops traffic, resume ends Done, byte-identical', async () => {
  const ingest = path.join(dir, 'Offload_Day01');
  fs.mkdirSync(ingest);
  await go('folders');
  await page.getByTestId('add-folder').click();
  const form = page.getByTestId('folder-dialog');
  await form.getByTestId('folder-path').fill(ingest);
  await chooseDestinations(form, [dest.id]);
  await form.getByTestId('folder-prefix').fill('day01/');
  await form.getByTestId('folder-stable').fill('1');
  // Below the destination's single-PUT threshold, but sent in parts so that pause has parts to keep.
  await form.getByTestId('folder-single-put').fill('0');
  await screenshotBothThemes(page, 'folders-add-dialog');
  await form.getByTestId('folder-dialog-save').click();
  await form.waitFor({ state: 'hidden' });
  await page.locator(`[data-testid="folder-row"][data-path="${ingest}"]`).waitFor();

  // Slow enough to be caught in the act: the bar must be seen moving, then stopped.
  proxy.reset();
  proxy.setBandwidth(3 * MiB);
  const file = await writeRandomFile(path.join(ingest, 'A001_C003_0925XY.mov'), 30 * MiB);
  const key = 'day01/A001_C003_0925XY.mov';
  await go('queue');
  const row = page.locator(`[data-testid="job-row"][data-key="${key}"]`);
  await row.waitFor();
  const bar = row.getByRole('progressbar');
  const seen = await progressAbove(bar, 0);
  await progressAbove(bar, seen);

  await row.getByTestId('job-pause').click();
  await page.locator(`[data-testid="job-row"][data-key="${key}"][data-state="paused"]`).waitFor();
  await until('the engine to have no traffic in flight', () => engine.progress().length === 0);
  const requestsAtPause = proxy.counts().UploadPart;
  const partsAtPause = doneParts(engine, jobIdOf(key));
  const barAtPause = await bar.getAttribute('aria-valuenow');
  await sleep(1500);
  assert.equal(proxy.counts().UploadPart, requestsAtPause, 'no part request goes out while paused');
  assert.deepEqual(doneParts(engine, jobIdOf(key)), partsAtPause, 'no part completes while paused');
  assert.equal(await bar.getAttribute('aria-valuenow'), barAtPause, 'the bar stands still');
  assert.equal(await row.getByTestId('job-rate').innerText(), '—', 'a paused job shows no speed');

  // While paused, its upload is open on the bucket and shown as ours, not as an orphan.
  await go('uploads');
  await page.locator(`[data-testid="remote-row"][data-key="${key}"][data-owner="ours"]`).waitFor();

  await go('queue');
  await row.getByTestId('job-link').click();
  await page.getByTestId('screen-job').waitFor();
  await page.getByTestId('detail-resume').click();
  await page.locator('[data-testid="part-map"] rect[data-state="sending"]').first().waitFor();
  await page.locator('[data-testid="part-map"] rect[data-state="done"]').first().waitFor();
  await page.getByTestId('detail-rate').filter({ hasText: 'MB/s' }).waitFor();
  await screenshotBothThemes(page, 'job');

  proxy.setBandwidth(null);
  await page.locator('[data-testid="screen-job"] [data-testid="job-state"][data-state="done"]').waitFor();
  assert.match(await page.getByTestId('job-etag').innerText(), /^"?[0-9a-f]{32}-6"?$/, 'the object ETag of 6 parts is shown');
  await go('queue');
  await page.locator(`[data-testid="job-row"][data-key="${key}"][data-state="done"]`).waitFor();
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), 'the object in the bucket is byte-identical');
});

test('several files dropped at once are all queued and shown moving with the overall throughput; pause all, resume all, and all arrive', async () => {
  const ingest = path.join(dir, 'Offload_Day01');
  proxy.setBandwidth(4 * MiB);
  const names = ['B001_C001_0925KD.mxf', 'B001_C002_0925KD.mxf', 'B001_C003_0925KD.mxf'];
  const files = await Promise.all(names.map((n) => writeRandomFile(path.join(ingest, n), 8 * MiB)));
  await go('queue');
  for (const n of names) await page.locator(`[data-testid="job-row"][data-key="day01/${n}"]`).waitFor();
  // Caught while moving: a row shows its speed, and so does the overall rate.
  await page.getByTestId('job-rate').filter({ hasText: 'MB/s' }).first().waitFor();
  await page.getByTestId('queue-rate').filter({ hasText: 'MB/s' }).waitFor();
  await screenshotBothThemes(page, 'queue');

  await page.getByTestId('pause-all').click();
  for (const n of names) await page.locator(`[data-testid="job-row"][data-key="day01/${n}"]:is([data-state="paused"], [data-state="done"])`).waitFor();
  await until('the engine to have no traffic in flight', () => engine.progress().length === 0);
  await page.getByTestId('resume-all').click();
  proxy.setBandwidth(null);
  for (const [i, n] of names.entries()) {
    await page.locator(`[data-testid="job-row"][data-key="day01/${n}"][data-state="done"]`).waitFor();
    assert.equal(await sha256OfObject(client, bucket, `day01/${n}`), await sha256OfFile(files[i]!), `${n} is byte-identical`);
  }
});

test('a failed upload says what failed and what to do, in the queue and in its history; Retry finishes it', async () => {
  const ingest = path.join(dir, 'Offload_Day01');
  // The server refuses every part as a bucket policy would: not retryable, so the job fails at once.
  proxy.addFault({ operation: 'UploadPart', action: { kind: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
  const file = await writeRandomFile(path.join(ingest, 'C007_C012_0925FX.mov'), 10 * MiB);
  const key = 'day01/C007_C012_0925FX.mov';
  await go('queue');
  const row = page.locator(`[data-testid="job-row"][data-key="${key}"]`);
  await page.locator(`[data-testid="job-row"][data-key="${key}"][data-state="failed"]`).waitFor();
  const shown = await row.getByTestId('error-detail').innerText();
  assert.match(shown, /Upload part failed/, 'the operation that failed');
  assert.match(shown, /Permission denied for UploadPart\. Ask for that permission on the bucket, or use other credentials\./, 'what to do about it');
  assert.equal(await page.getByTestId('nav-queue').locator('.count.failed').innerText(), '1', 'the sidebar counts the failure');
  assert.equal(await row.getByTestId('job-upload-kept').innerText(), 'Upload kept on the bucket: retry resumes it, cancel aborts it.', 'the row says the upload waits on the bucket');

  await row.getByTestId('job-link').click();
  const history = page.getByTestId('job-history');
  await history.locator('li.error').filter({ hasText: 's3.access-denied' }).first().waitFor();
  assert.match(await page.getByTestId('screen-job').getByRole('alert').innerText(), /Permission denied for UploadPart[^]*s3\.access-denied/);
  assert.match(await page.getByTestId('detail-upload-kept').innerText(), /^Upload kept on the bucket \(0 of \d+ parts\): retry resumes it, cancel aborts it\.$/);
  await screenshotBothThemes(page, 'job-failed');

  proxy.clearFaults();
  await page.getByTestId('detail-retry').click();
  await page.locator('[data-testid="screen-job"] [data-testid="job-state"][data-state="done"]').waitFor();
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
});

test('Folders: a folder is added with patterns, edited, and removed with its unfinished upload cancelled and aborted', async () => {
  const renders = path.join(dir, 'Renders');
  fs.mkdirSync(renders);
  await go('folders');
  await page.getByTestId('add-folder').click();
  const form = page.getByTestId('folder-dialog');
  await form.getByTestId('folder-path').fill(renders);
  await chooseDestinations(form, [dest.id]);
  await form.getByTestId('folder-prefix').fill('renders/');
  await form.getByTestId('folder-include').fill('**/*.mov');
  await form.getByTestId('folder-exclude').fill('**/proxies/**');
  await form.getByTestId('folder-stable').fill('1');
  await form.getByTestId('folder-growing').check();
  await form.getByTestId('folder-dialog-save').click();
  await form.waitFor({ state: 'hidden' });
  const row = page.locator(`[data-testid="folder-row"][data-path="${renders}"]`);
  await row.getByText('growing files').waitFor();
  await screenshotBothThemes(page, 'folders');

  // Edit: another prefix, no growing mode, and files sent in parts.
  await row.getByTestId('folder-edit').click();
  assert.equal(await form.getByTestId('folder-prefix').inputValue(), 'renders/', 'the form opens with the folder as it is');
  await form.getByTestId('folder-prefix').fill('finals/');
  await form.getByTestId('folder-growing').uncheck();
  await form.getByTestId('folder-single-put').fill('0');
  await screenshotBothThemes(page, 'folders-edit-dialog');
  await form.getByTestId('folder-dialog-save').click();
  await form.waitFor({ state: 'hidden' });
  await row.getByText(`s3://${bucket}/finals/`).waitFor();
  assert.equal(await row.getByText('growing files').count(), 0);

  // A file caught mid-upload, then the folder removed with "cancel": the job ends, its upload is aborted.
  proxy.setBandwidth(2 * MiB);
  await writeRandomFile(path.join(renders, 'reel2_v07.mov'), 12 * MiB);
  const key = 'finals/reel2_v07.mov';
  await until('the job to have its multipart upload', () => engine.listJobs().find((j) => j.key === key)?.uploadId);
  await row.getByTestId('folder-remove').click();
  const dialog = page.getByTestId('remove-folder-dialog');
  await dialog.getByText('1 upload from this folder is not finished').waitFor();
  await dialog.getByTestId('remove-cancel').check();
  await screenshotBothThemes(page, 'folders-remove-dialog');
  await dialog.getByTestId('confirm-remove-folder').click();
  await row.waitFor({ state: 'detached' });
  proxy.setBandwidth(null);
  await go('queue');
  await page.locator(`[data-testid="job-row"][data-key="${key}"][data-state="cancelled"]`).waitFor();
  await until('its upload to be aborted on the bucket', async () => !(await listUploads(client, bucket)).some((u) => u.key === key));
});

test('a folder sent to two destinations with xxh64 and md5, high priority, ASC MHL, a webhook and move after delivery: both buckets get the file, its detail shows the xxh64 xxhsum computes, the receiver hears both jobs, then it is moved', async () => {
  const offsiteBucket = await newBucket('e2e-ui-offsite');
  const { id: _id, credentials: _credentials, ...input } = dest;
  const offsite = engine.saveDestination({ ...input, name: 'Offsite archive (local S3)', bucket: offsiteBucket });
  const receiver = new WebhookReceiver();
  await receiver.start();
  try {
    const dailies = path.join(dir, 'Dailies_Day02');
    const delivered = path.join(dir, 'Delivered_Day02');
    fs.mkdirSync(dailies);
    fs.mkdirSync(delivered);

    // Destinations lists the new one, and where each one's credentials come from.
    await go('destinations');
    for (const d of [dest, offsite]) {
      await page.locator(`[data-testid="destination-card"][data-destination-id="${d.id}"] [data-testid="destination-credentials"][data-origin="chain"]`).filter({ hasText: 'Default AWS credential chain' }).waitFor();
    }

    await go('folders');
    await page.getByTestId('add-folder').click();
    const form = page.getByTestId('folder-dialog');
    await form.getByTestId('folder-path').fill(dailies);
    await chooseDestinations(form, [dest.id, offsite.id]);
    await form.getByTestId('folder-prefix').fill('dailies/');
    await form.getByTestId('folder-stable').fill('1');
    await form.getByTestId('folder-single-put').fill('0');
    await form.getByTestId('folder-priority').selectOption('high');
    assert.ok(await form.getByTestId('folder-hash-xxh64').isChecked(), 'xxh64 is the default hash');

    // ASC MHL needs a hash a manifest can record: the form says so in the engine's own words.
    await form.getByTestId('folder-hash-xxh64').uncheck();
    await form.getByTestId('folder-hash-sha256').check();
    await form.getByTestId('folder-mhl').check();
    const engineSays = (() => {
      try {
        requireMhlHash(['sha256']);
      } catch (err) {
        return (err as Error).message;
      }
      assert.fail('the engine accepts ASC MHL with SHA-256 alone');
    })();
    assert.equal(await form.getByTestId('folder-mhl-problem').innerText(), engineSays);
    await form.getByTestId('folder-hash-sha256').uncheck();
    await form.getByTestId('folder-hash-xxh64').check();
    await form.getByTestId('folder-hash-md5').check();
    await form.getByTestId('folder-mhl-problem').waitFor({ state: 'detached' });

    // A webhook must be http(s).
    await form.getByTestId('folder-webhook').fill('ftp://hooks.example.com/hoist');
    await form.getByTestId('folder-webhook').blur();
    assert.match(await form.getByTestId('folder-webhook-problem').innerText(), /must be an http:\/\/ or https:\/\/ URL/);
    await form.getByTestId('folder-webhook').fill(receiver.url);

    await form.getByTestId('folder-after-move').check();
    await form.getByTestId('folder-move-to').fill(delivered);
    assert.match(await form.getByTestId('folder-after-warning').innerText(), /moved only after every destination \(all 2\) has completed and verified it/);
    assert.deepEqual(await unnamedControls(page), [], 'every control of the folder form has a name');
    await screenshotTall('folders-add-two-destinations-dialog');
    await form.getByTestId('folder-dialog-save').click();
    await form.waitFor({ state: 'hidden' });

    const row = page.locator(`[data-testid="folder-row"][data-path="${dailies}"]`);
    assert.deepEqual(await row.locator('[data-testid="folder-sends-to"] li').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-destination-id')))), [dest.id, offsite.id]);
    const delivery = await row.getByTestId('folder-delivery').innerText();
    for (const shown of ['High priority', 'Moves after delivery', `to ${delivered}`, 'xxHash64 · MD5', 'ASC MHL', new URL(receiver.url).host]) assert.ok(delivery.includes(shown), `the row shows ${shown}: ${delivery}`);
    const folder = (await api.listFolders()).find((f) => f.path === dailies)!;
    assert.deepEqual(
      { ids: folder.destinationIds, after: folder.after, moveTo: folder.moveTo, priority: folder.priority, hashes: folder.hashAlgorithms, mhl: folder.mhl, webhook: folder.webhookUrl },
      { ids: [dest.id, offsite.id], after: 'move', moveTo: delivered, priority: 'high', hashes: ['xxh64', 'md5'], mhl: true, webhook: receiver.url },
      'the engine has the folder as it was set up in the form',
    );
    await screenshotBothThemes(page, 'folders-delivery');

    // One file, two jobs: slow enough to be seen in the queue and re-prioritised while it moves.
    proxy.setBandwidth(2 * MiB);
    const name = 'A002_C004_0926DL.mov';
    const file = await writeRandomFile(path.join(dailies, name), 12 * MiB);
    // Computed now: once delivered, the file is moved away.
    const xxh64 = execFileSync('xxhsum', ['-H1', file], { encoding: 'utf8' }).split(/\s+/)[0]!;
    const md5 = execFileSync('md5sum', [file], { encoding: 'utf8' }).split(/\s+/)[0]!;
    const sha256 = await sha256OfFile(file);
    const key = `dailies/${name}`;
    await go('queue');
    const rows = page.locator(`[data-testid="job-row"][data-key="${key}"]`);
    await until('a job per destination', async () => (await rows.count()) === 2);
    const jobs = await until('both jobs in the engine', () => {
      const found = engine.listJobs().filter((j) => j.key === key);
      return found.length === 2 && found;
    });
    const offsiteJob = jobs.find((j) => j.destinationId === offsite.id)!;
    const mainJob = jobs.find((j) => j.destinationId === dest.id)!;
    for (const j of jobs) {
      const r = page.locator(`[data-testid="job-row"][data-job-id="${j.id}"]`);
      assert.equal(await r.getByTestId('job-destination').innerText(), j.destinationId === offsite.id ? offsite.name : dest.name, 'each row names its destination');
      await r.locator('[data-testid="priority-badge"][data-priority="high"]').waitFor();
    }
    await page.getByTestId('job-rate').filter({ hasText: 'MB/s' }).first().waitFor();
    await screenshotBothThemes(page, 'queue-two-destinations');

    // The job detail's priority select changes the engine's job while it moves; the queue shows it.
    await page.locator(`[data-testid="job-row"][data-job-id="${offsiteJob.id}"]`).getByTestId('job-link').click();
    await page.getByTestId('screen-job').waitFor();
    assert.equal(await page.getByTestId('job-destination-name').innerText(), offsite.name);
    await page.getByTestId('job-priority').selectOption('low');
    await until('the engine to have the new priority', () => engine.getJob(offsiteJob.id)?.priority === 'low');
    await go('queue');
    await page.locator(`[data-testid="job-row"][data-job-id="${offsiteJob.id}"] [data-testid="priority-badge"][data-priority="low"]`).waitFor();

    proxy.setBandwidth(null);
    for (const j of jobs) await page.locator(`[data-testid="job-row"][data-job-id="${j.id}"][data-state="done"]`).waitFor();
    assert.equal(await sha256OfObject(client, bucket, key), sha256, 'the main bucket holds the file, byte-identical');
    assert.equal(await sha256OfObject(client, offsiteBucket, key), sha256, 'the offsite bucket holds the file, byte-identical');

    // Its detail shows the hashes of what was uploaded: the xxh64 that xxhsum computes, and the md5 of md5sum.
    await page.locator(`[data-testid="job-row"][data-job-id="${mainJob.id}"]`).getByTestId('job-link').click();
    const hashes = page.getByTestId('job-hashes');
    await hashes.locator('[data-algorithm="md5"] [data-testid="job-hash-value"]').waitFor();
    assert.equal(await hashes.locator('[data-algorithm="xxh64"] [data-testid="job-hash-value"]').innerText(), xxh64, 'xxh64 equals xxhsum -H1');
    assert.equal(await hashes.locator('[data-algorithm="md5"] [data-testid="job-hash-value"]').innerText(), md5, 'md5 equals md5sum');
    // Its ASC MHL generation is written once the folder goes quiet; the detail follows.
    await page.locator('[data-testid="job-mhl"][data-state="written"]').waitFor();
    assert.match(await page.getByTestId('job-mhl-manifest').innerText(), new RegExp(`^s3://${bucket}/dailies/ascmhl/0001_Dailies_Day02_\\d{4}-\\d\\d-\\d\\d_\\d{6}Z\\.mhl$`));
    assert.equal(await page.getByTestId('job-mhl-generation').innerText(), '0001');
    await screenshotBothThemes(page, 'job-hashes');

    // Both destinations verified it: the source is moved, under its relative path.
    const moved = path.join(delivered, name);
    await until('the delivered file to be moved', () => fs.existsSync(moved) && !fs.existsSync(file));
    assert.equal(await sha256OfFile(moved), sha256);

    // The receiver heard job.done for each job, with the hashes.
    const done = await until('job.done for both jobs', () => {
      const events = receiver.received.filter((r) => r.kind === 'job.done');
      const ids = new Set(events.map((r) => (r.body.job as { id: number }).id));
      return ids.has(mainJob.id) && ids.has(offsiteJob.id) && events;
    });
    const bodies = done.map((r) => r.body.job as { id: number; bucket: string; hashes: Record<string, string> });
    assert.deepEqual(new Set(bodies.map((b) => b.bucket)), new Set([bucket, offsiteBucket]));
    for (const b of bodies) assert.equal(b.hashes.xxh64, xxh64, 'the event carries the xxh64');

    // Priority and webhook change in place: the same folder, still watching; anything else re-adds it, and the form says so first.
    await go('folders');
    await row.getByTestId('folder-edit').click();
    await form.getByTestId('folder-priority').selectOption('normal');
    await form.getByTestId('folder-webhook').fill('');
    assert.equal(await form.getByTestId('folder-readd-note').count(), 0, 'no re-add for priority and webhook');
    await form.getByTestId('folder-dialog-save').click();
    await form.waitFor({ state: 'hidden' });
    const edited = (await api.listFolders()).find((f) => f.path === dailies)!;
    assert.deepEqual({ id: edited.id, priority: edited.priority, webhook: edited.webhookUrl }, { id: folder.id, priority: 'normal', webhook: null });
    await row.locator('[data-testid="priority-badge"]').waitFor({ state: 'detached' });
    await row.getByTestId('folder-edit').click();
    await form.getByTestId('folder-hash-sha1').check();
    await form.getByTestId('folder-readd-note').waitFor();
    await page.keyboard.press('Escape');
    await form.waitFor({ state: 'hidden' });
  } finally {
    proxy.setBandwidth(null);
    await receiver.stop();
  }
});

test('the page logged no error', () => {
  assert.deepEqual(pageErrors, []);
});
