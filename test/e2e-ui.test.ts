// The UI end to end, as a person uses it: Debian's Chromium on the headless host, with a real
// engine and the real local S3 server behind it (a counting proxy in between, to see the traffic).
// Screenshots of every screen, light and dark, land in build/screenshots/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { CreateMultipartUploadCommand, PutBucketLifecycleConfigurationCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import WebSocket from 'ws';
import { RENDERER_DIR } from '../src-main/cli-serve.js';
import { EngineApi } from '../src-main/engine/api.js';
import type { Engine } from '../src-main/engine/engine.js';
import { HOIST_LIFECYCLE_RULE_ID, readLifecycleRules } from '../src-main/engine/remote/lifecycle.js';
import { FolderWatcher } from '../src-main/engine/watch/folder-watcher.js';
import { startHeadlessHost, type HeadlessHost } from '../src-main/hosts/headless/host.js';
import type { Destination } from '../shared/types.js';
import { collectPageErrors, launchBrowser, screenshotBothThemes } from './support/browser.js';
import { doneParts, sleep, testEngine, until } from './support/engine.js';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { MiB, createBucket, listUploads, removeBucket, s3Client, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from './support/s3.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 60_000;

const client = s3Client();
const dir = tempDir('e2e-ui');
let bucket: string;
let proxy: S3Proxy;
let engine: Engine;
let dest: Destination;
let folders: FolderWatcher;
let api: EngineApi;
let host: HeadlessHost;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

before(async () => {
  bucket = await createBucket(client, 'e2e-ui');
  proxy = await startS3Proxy(s3Env().endpoint);
  ({ engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, name: 'Dailies (local S3)' }));
  folders = new FolderWatcher(engine);
  api = new EngineApi(engine, { folders });
  engine.start();
  await folders.start();
  host = await startHeadlessHost({ api, staticDir: RENDERER_DIR });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  page = await context.newPage();
  pageErrors = collectPageErrors(page);
  await page.goto(host.url);
});

after(async () => {
  await browser?.close();
  await host?.close();
  api?.dispose();
  await folders?.stop();
  await engine?.close();
  proxy?.setBandwidth(null);
  await proxy?.close();
  if (bucket) await removeBucket(client, bucket);
});

// A test that failed half-way must not leave the next one throttled or faulted.
beforeEach(() => {
  proxy.setBandwidth(null);
  proxy.clearFaults();
});

async function go(nav: 'queue' | 'uploads' | 'folders' | 'destinations'): Promise<void> {
  await page.getByTestId(`nav-${nav}`).click();
  await page.getByTestId(`screen-${nav}`).waitFor();
}

/** Waits until a progress bar shows more than `min` percent; returns what it shows then. */
async function progressAbove(bar: Locator, min: number): Promise<number> {
  const handle = await bar.elementHandle();
  await page.waitForFunction(([el, m]) => Number(el!.getAttribute('aria-valuenow')) > m, [handle, min] as const);
  return Number(await bar.getAttribute('aria-valuenow'));
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
  await form.getByTestId('folder-destination').selectOption(String(dest.id));
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

  await row.getByTestId('job-link').click();
  const history = page.getByTestId('job-history');
  await history.locator('li.error').filter({ hasText: 's3.access-denied' }).first().waitFor();
  assert.match(await page.getByTestId('screen-job').getByRole('alert').innerText(), /Permission denied for UploadPart[^]*s3\.access-denied/);
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
  await form.getByTestId('folder-destination').selectOption(String(dest.id));
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

/** An upload begun with the SDK and left open: what another tool, or a crash, leaves behind. */
async function leaveOrphan(key: string): Promise<string> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const body = crypto.randomBytes(5 * MiB);
  const md5 = crypto.createHash('md5').update(body).digest('base64');
  await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId, PartNumber: 1, Body: body, ContentMD5: md5 }));
  return created.UploadId!;
}

test('Uploads in the bucket: ours and an orphan side by side; the orphan is aborted, abort orphans spares ours, cancelling our job aborts its upload', async () => {
  // One of ours, paused half-way so its upload stays open on the bucket.
  proxy.setBandwidth(4 * MiB);
  await writeRandomFile(path.join(dir, 'Offload_Day01', 'A003_C001_0926XY.mov'), 20 * MiB);
  const oursKey = 'day01/A003_C001_0926XY.mov';
  await go('queue');
  const job = page.locator(`[data-testid="job-row"][data-key="${oursKey}"]`);
  await until('a part of it on the bucket', () => {
    const ours = engine.listJobs().find((j) => j.key === oursKey);
    return ours !== undefined && doneParts(engine, ours.id).length > 0;
  });
  await job.getByTestId('job-pause').click();
  await page.locator(`[data-testid="job-row"][data-key="${oursKey}"][data-state="paused"]`).waitFor();
  proxy.setBandwidth(null);

  const key = 'left-behind/A002_C019_0925RT.mov';
  const uploadId = await leaveOrphan(key);
  await go('uploads');
  const ours = page.locator(`[data-testid="remote-row"][data-key="${oursKey}"]`);
  const row = page.locator(`[data-testid="remote-row"][data-upload-id="${uploadId}"]`);
  await row.waitFor();
  await ours.waitFor();
  assert.equal(await row.getAttribute('data-owner'), 'orphan');
  assert.equal(await ours.getAttribute('data-owner'), 'ours');
  assert.match(await row.innerText(), /5\.0 MiB/, 'the row shows the bytes the orphan holds');
  await screenshotBothThemes(page, 'uploads');

  await row.getByTestId('remote-abort').click();
  const dialog = page.getByTestId('abort-dialog');
  await dialog.getByText(uploadId).waitFor();
  await screenshotBothThemes(page, 'uploads-abort-dialog');
  await dialog.getByTestId('confirm-abort').click();
  await row.waitFor({ state: 'detached' });
  assert.ok(!(await listUploads(client, bucket)).some((u) => u.uploadId === uploadId), 'the upload is gone from the bucket');

  // Several left behind: "abort orphans" clears those older than the days given (0: all of them), never ours.
  const more = [await leaveOrphan('left-behind/A002_C020_0925RT.mov'), await leaveOrphan('left-behind/A002_C021_0925RT.mov')];
  await page.getByTestId('uploads-refresh').click();
  await page.locator('[data-testid="orphans-count"]').filter({ hasText: '2' }).waitFor();
  await page.getByTestId('abort-orphans').click();
  const orphans = page.getByTestId('orphans-dialog');
  await orphans.getByTestId('orphans-days').fill('0');
  await orphans.getByText('2 of 2 orphans qualify').waitFor();
  await orphans.getByTestId('confirm-orphans').click();
  await page.locator('[data-testid="orphans-count"]').filter({ hasText: '0' }).waitFor();
  const left = await listUploads(client, bucket);
  assert.ok(!more.some((id) => left.some((u) => u.uploadId === id)), 'both orphans are gone from the bucket');
  assert.ok(left.some((u) => u.key === oursKey), 'the paused job keeps its upload');
  await ours.waitFor();

  // Cancelling our job asks first, then aborts its upload too: nothing is left to bill.
  await go('queue');
  await job.getByTestId('job-cancel').click();
  await page.getByTestId('cancel-dialog').getByText(oursKey).waitFor();
  await screenshotBothThemes(page, 'queue-cancel-dialog');
  await page.getByTestId('confirm-cancel').click();
  await page.locator(`[data-testid="job-row"][data-key="${oursKey}"][data-state="cancelled"]`).waitFor();
  await until('its upload to be aborted on the bucket', async () => !(await listUploads(client, bucket)).some((u) => u.key === oursKey));
  await go('uploads');
  await page.getByTestId('uploads-empty').waitFor();
});

test('the lifecycle rule is installed from the UI beside an existing rule, which survives', async () => {
  const existing = { ID: 'expire-proxies', Status: 'Enabled' as const, Filter: { Prefix: 'proxies/' }, Expiration: { Days: 30 } };
  await putLifecycleRules([existing]);
  await go('uploads');
  await page.getByTestId('install-lifecycle').click();
  const dialog = page.getByTestId('lifecycle-dialog');
  await dialog.getByTestId('lifecycle-days').fill('3');
  await screenshotBothThemes(page, 'uploads-lifecycle-dialog');
  await dialog.getByTestId('confirm-lifecycle').click();
  await page.getByTestId('notice-success').filter({ hasText: 'Lifecycle rule installed' }).waitFor();
  await dialog.waitFor({ state: 'hidden' });

  const rules = await readLifecycleRules(client, bucket);
  const ours = rules.find((r) => r.ID === HOIST_LIFECYCLE_RULE_ID);
  const theirs = rules.find((r) => r.ID === existing.ID);
  assert.equal(ours?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 3);
  assert.ok(theirs, 'the existing rule survives');
  assert.equal(theirs.Expiration?.Days, 30);
  assert.equal(theirs.Filter?.Prefix ?? theirs.Prefix, 'proxies/');
});

/** Sets the bucket's lifecycle rules directly (radosgw wants Content-MD5 on this call). */
async function putLifecycleRules(rules: NonNullable<ConstructorParameters<typeof PutBucketLifecycleConfigurationCommand>[0]['LifecycleConfiguration']>['Rules']): Promise<void> {
  const put = new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } });
  put.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: string };
      if (typeof request.body === 'string') request.headers['content-md5'] = crypto.createHash('md5').update(request.body).digest('base64');
      return next(args);
    },
    { step: 'build', name: 'e2eLifecycleContentMd5' },
  );
  await client.send(put);
}

test('Destinations: Test connection lists each permission; a destination added in the UI with a wrong bucket says why it fails', async () => {
  await go('destinations');
  const ours = page.locator(`[data-testid="destination-card"][data-destination-id="${dest.id}"]`);
  await ours.getByTestId('test-connection').click();
  await ours.locator('[data-testid="test-verdict"][data-ok="true"]').waitFor();
  for (const permission of ['PutObject', 'ListBucketMultipartUploads', 'ListMultipartUploadParts', 'AbortMultipartUpload']) {
    assert.equal(await ours.locator(`[data-permission="${permission}"]`).getAttribute('data-ok'), 'true', `${permission} is granted`);
  }

  // A bucket that does not exist: every check fails, each naming the reason.
  await page.getByTestId('add-destination').click();
  const form = page.getByTestId('destination-dialog');
  await form.getByTestId('dest-name').fill('Archive (wrong bucket)');
  await form.getByTestId('dest-bucket').fill(`missing-${crypto.randomBytes(4).toString('hex')}`);
  await form.getByTestId('dest-endpoint').fill(proxy.url);
  await form.getByTestId('dest-path-style').check();
  await screenshotBothThemes(page, 'destinations-add-dialog');
  await form.getByTestId('destination-dialog-save').click();
  await form.waitFor({ state: 'hidden' });
  const added = page.getByTestId('destination-card').filter({ hasText: 'Archive (wrong bucket)' });
  await added.getByTestId('test-connection').click();
  const verdict = added.locator('[data-testid="test-verdict"][data-ok="false"]');
  await verdict.waitFor();
  assert.match(await verdict.innerText(), /Could not check: s3\.no-such-bucket/);
  for (const permission of ['PutObject', 'ListBucketMultipartUploads', 'ListMultipartUploadParts', 'AbortMultipartUpload']) {
    assert.equal(await added.locator(`[data-permission="${permission}"]`).getAttribute('data-ok'), 'false', `${permission} is not confirmed`);
  }
  // The reason, once, in words a person can act on.
  assert.match(await added.getByTestId('error-detail').innerText(), /The bucket does not exist.*Check the bucket name and the endpoint/s);
  await screenshotBothThemes(page, 'destinations');
});

test('keyboard alone: Enter opens a dialog, Tab stays inside it, Escape closes it and focus returns; every control has a name', async () => {
  await go('destinations');
  assert.deepEqual(await unnamedControls(), [], 'controls on the screen');
  const opener = page.getByTestId('add-destination');
  await opener.focus();
  await page.keyboard.press('Enter');
  const form = page.getByTestId('destination-dialog');
  await form.waitFor();
  assert.deepEqual(await unnamedControls(), [], 'controls in the dialog');
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await form.evaluate((d) => d.contains(d.ownerDocument.activeElement)), 'focus stays inside the open dialog');
  }
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'hidden' });
  assert.ok(await opener.evaluate((b) => b === b.ownerDocument.activeElement), 'focus is back on the button that opened the dialog');
});

/** Visible controls with no name a screen reader could say (no aria-label, no text, no label). */
function unnamedControls(): Promise<string[]> {
  return page.locator('button, a[href], select, input, textarea, [role="slider"]').evaluateAll((els) =>
    els
      .filter((el) => el.checkVisibility() && !(el.getAttribute('aria-label') || el.innerText?.trim() || el.labels?.length))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

test('the bridge refuses a request without the token, and one from another Origin', async () => {
  const bridge = `ws://127.0.0.1:${host.port}/bridge`;
  const origin = `http://127.0.0.1:${host.port}`;
  assert.equal(await upgradeStatus(bridge, { Origin: origin }), 401, 'no token: refused');
  assert.equal(await upgradeStatus(`${bridge}?token=${host.token}`, { Origin: 'http://evil.example' }), 403, 'another Origin: refused');
  assert.equal(await upgradeStatus(`${bridge}?token=${host.token}`, { Origin: origin }), 101, 'the same request with both is accepted');

  // In the browser: a tab without the token gets nothing, and a page on another local port, in the
  // same browser that holds the cookie, cannot open the bridge either.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  const answer = await strangerPage.goto(origin + '/');
  assert.equal(answer?.status(), 401);
  await stranger.close();

  const other = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const otherPage = await context.newPage();
  try {
    await otherPage.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
    assert.equal(await tryBridge(otherPage, bridge), 'refused');
    assert.equal(await tryBridge(page, bridge), 'open', 'the app’s own page, with the cookie, connects');
  } finally {
    await otherPage.close();
    other.close();
  }
});

/** The HTTP status the bridge answers an upgrade with (101 when it accepts). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    ws.once('error', reject);
  });
}

function tryBridge(from: Page, url: string): Promise<string> {
  return from.evaluate(
    (u) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(u);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onclose = () => resolve('refused');
      }),
    url,
  );
}

test('when the host goes away a command on the wire is rejected, the page says so, reconnects when it is back, and reloads', async () => {
  const { port, token } = host;
  await go('destinations');
  const ours = page.locator(`[data-testid="destination-card"][data-destination-id="${dest.id}"]`);
  // A command still waiting for its answer when the connection drops.
  proxy.addFault({ times: 1, action: { kind: 'stall', ms: 5000 } });
  await ours.getByTestId('test-connection').click();
  await until('the check to be held at the server', () => proxy.requests().some((r) => r.faulted?.startsWith('stall')));
  await host.close();
  const lost = page.locator('[data-testid="notice-error"] [data-testid="error-detail"][data-code="net.reset"]');
  await lost.waitFor();
  assert.match(await lost.innerText(), /The connection to Hoist was lost before it answered \(testConnection\)\. It may or may not have been carried out/);
  await page.getByTestId('reconnecting').waitFor();
  assert.equal(await page.getByTestId('connection-status').getAttribute('data-state'), 'reconnecting');
  // Something changes while the page cannot hear about it.
  const { id: _id, ...input } = dest;
  engine.saveDestination({ ...input, name: 'Added while the page was away' });
  // The same port and token, as a restarted desktop app would have: the page's cookie still holds.
  host = await startHeadlessHost({ api, staticDir: RENDERER_DIR, port, token });
  await page.getByTestId('reconnecting').waitFor({ state: 'detached' });
  await page.locator('[data-testid="connection-status"][data-state="open"]').waitFor();
  await page.getByTestId('destination-card').filter({ hasText: 'Added while the page was away' }).waitFor();
  // It works again: a command goes through and its answer shows.
  await ours.getByTestId('test-connection').click();
  await ours.locator('[data-testid="test-verdict"][data-ok="true"]').waitFor();
  // Chromium logs each refused reconnection attempt; those are expected here, nothing else is.
  pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !/WebSocket connection to .*\/bridge' failed/.test(e)));
});

test('the page logged no error', () => {
  assert.deepEqual(pageErrors, []);
});
