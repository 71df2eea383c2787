// The UI end to end, bucket side and the host's edges: the multipart uploads on the bucket (ours and
// orphans, aborted from the UI), the lifecycle rule, destinations and their connection test, the
// keyboard alone, the bridge's token and Origin checks, and a host that goes away and comes back.
// Debian's Chromium on the headless host, a real engine and the real local S3 server behind a
// counting proxy. Split from e2e-ui.test.ts (queue and folders), which was past 500 lines.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, test } from 'node:test';
import { CreateMultipartUploadCommand, PutBucketLifecycleConfigurationCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { RENDERER_DIR } from '../../src-main/cli/serve.js';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { HOIST_LIFECYCLE_RULE_ID, readLifecycleRules } from '../../src-main/engine/remote/lifecycle.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import type { Destination } from '../../shared/types.js';
import { screenshotBothThemes } from '../support/browser.js';
import { doneParts, testEngine, until } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, listUploads, writeRandomFile } from '../support/s3.js';
import { cleanProxyEachTest, goTo, serveApp, unnamedControls, type AppUnderTest, type Screen } from '../support/ui-session.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 60_000;

const { client, bucket, proxy, dir, onClose } = await s3Fixture('e2e-ui-bucket', { proxy: true });
let engine: Engine;
let dest: Destination;
let api: EngineApi;
let app: AppUnderTest;
let host: HeadlessHost;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

before(async () => {
  ({ engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, name: 'Dailies (local S3)' }));
  api = new EngineApi(engine);
  engine.start();
  app = await serveApp(api, WAIT_MS);
  ({ host, browser, context, page, pageErrors } = app);
});

onClose(async () => {
  await app?.close();
  await engine?.close();
  proxy?.setBandwidth(null);
});

cleanProxyEachTest(proxy);

const go = (nav: Screen) => goTo(page, nav);

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
  const oursKey = 'day01/A003_C001_0926XY.mov';
  const oursFile = await writeRandomFile(path.join(dir, 'A003_C001_0926XY.mov'), 20 * MiB);
  await engine.enqueue([oursFile], { destination: dest, key: oursKey, singlePutThreshold: 0, partSize: 5 * MiB });
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
  assert.deepEqual(await unnamedControls(page), [], 'controls on the screen');
  const opener = page.getByTestId('add-destination');
  await opener.focus();
  await page.keyboard.press('Enter');
  const form = page.getByTestId('destination-dialog');
  await form.waitFor();
  assert.deepEqual(await unnamedControls(page), [], 'controls in the dialog');
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await form.evaluate((d) => d.contains(d.ownerDocument.activeElement)), 'focus stays inside the open dialog');
  }
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'hidden' });
  assert.ok(await opener.evaluate((b) => b === b.ownerDocument.activeElement), 'focus is back on the button that opened the dialog');
});


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
  host = app.host = await startHeadlessHost({ api, staticDir: RENDERER_DIR, port, token });
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
