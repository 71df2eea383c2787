// Issue 14's records in the app, end to end: Debian's Chromium on the real headless host, with the
// real engine, the folder watcher and radosgw behind it. Two watched folders with ASC MHL and a
// webhook each: one delivers (its generation written, its events delivered); the other's manifest
// write is denied by a bucket policy (radosgw plays the refusal itself: a limited user, the policy's
// Deny on `ascmhl/*`) and its receiver answers 503, so its batch fails and its events are given up.
// The batches and webhooks screens show both, and their Retry, clicked once the bucket and the
// receiver are fixed, writes the generation and delivers the events. The uploads screen shows the
// lifecycle rule `hoist uploads lifecycle --days` set, and sets one the CLI then shows. Support
// downloads the log and a diagnostics file, behind the host's token, with no secret in it.
// Screenshots of the three screens, light and dark, land in build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import zlib from 'node:zlib';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Browser, Page } from 'playwright-core';
import type { Destination, DestinationInput, WatchedFolder } from '../../shared/types.js';
import { RENDERER_DIR } from '../../src-main/cli/serve.js';
import { EngineApi } from '../../src-main/engine/api.js';
import { Engine } from '../../src-main/engine/engine.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { logger } from '../../src-main/engine/log.js';
import { CredentialSource } from '../../src-main/engine/s3/connection.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import { supportDownloads } from '../../src-main/hosts/headless/support-downloads.js';
import { installLogFile, type LogFile } from '../../src-main/runtime/log-file.js';
import { openApp, screenshotBothThemes } from '../support/browser.js';
import { until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { MemorySecrets } from '../support/memory-secrets.js';
import { ownerStatement, setBucketPolicy, statement } from '../support/rgw-user.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, writeRandomFile } from '../support/s3.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 60_000;
/** In each webhook URL's query, as a chat service's token would be: must not reach a diagnostics file. */
const URL_TOKEN = 'urlTokenMustNotLeak0123456789';

const { client, endpoint, bucket, dir, newBucket, user, onClose } = await s3Fixture('e2e-records', { user: 'records-limited' });
let engine: Engine;
let watcher: FolderWatcher;
let api: EngineApi;
let host: HeadlessHost;
let logFile: LogFile;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let dest: Destination;
let denied: Destination;
let deniedBucket: string;
let good: WatchedFolder;
let failing: WatchedFolder;
const receiver = new WebhookReceiver();
const downReceiver = new WebhookReceiver();

function destinationInput(name: string, b: string): DestinationInput {
  return {
    name, endpoint, region: 'us-east-1', bucket: b, prefix: '', pathStyle: true, profile: null, storageClass: null, sse: null, sseKmsKeyId: null,
    partSize: 5 * MiB, concurrency: 2, singlePutThreshold: 8 * MiB, maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
  };
}

/** The limited user may do anything on the bucket, except (with `denyManifests`) write its ASC MHL history. */
async function limitedPolicy(denyManifests: boolean): Promise<void> {
  const manifestsDenied = { Effect: 'Deny', Principal: { AWS: [`arn:aws:iam:::user/${user.uid}`] }, Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${deniedBucket}/ascmhl/*`] };
  await setBucketPolicy(client, deniedBucket, ownerStatement(deniedBucket), statement('Allow', user.uid, ['s3:*'], deniedBucket, 'both'), ...(denyManifests ? [manifestsDenied] : []));
}

before(async () => {
  await receiver.start();
  await downReceiver.start();
  downReceiver.status = 503;
  deniedBucket = await newBucket('e2e-records-denied');
  await limitedPolicy(true);

  const dbPath = path.join(dir, 'hoist.db');
  // The log file a real host writes (runtime/log-file.ts), so Support offers the engine's own lines.
  logFile = installLogFile({ file: path.join(dir, 'hoist.log'), echo: false });
  const secrets = new MemorySecrets();
  engine = new Engine({
    dbPath,
    credentials: new CredentialSource(secrets),
    scheduler: { tickMs: 50, retry: { baseDelayMs: 50, maxDelayMs: 500 } },
    owed: { tickMs: 100 },
    // A denied manifest is tried twice, quickly, then the batch is failed; a receiver down is given up after 2 s.
    mhl: { tickMs: 100, retryBaseMs: 100, retryMaxMs: 200, attempts: 2 },
    webhooks: { retry: { baseDelayMs: 100, maxDelayMs: 300 }, giveUpAfterMs: 2000, timeoutMs: 5000 },
  });
  watcher = new FolderWatcher(engine, { batchSettleMs: 300, defaultStableMs: 300 });
  api = new EngineApi(engine, { folders: watcher, secrets, logFile: logFile.path });
  dest = await api.saveDestination(destinationInput('Dailies (local S3)', bucket));
  denied = await api.saveDestination(destinationInput('Archive (manifests denied)', deniedBucket), { accessKeyId: user.env.AWS_ACCESS_KEY_ID, secretAccessKey: user.env.AWS_SECRET_ACCESS_KEY });
  engine.start();
  await watcher.start();
  host = await startHeadlessHost({ api, staticDir: RENDERER_DIR, downloads: supportDownloads(engine, { logFile: logFile.path, secrets }) });

  const watch = (name: string) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p);
    return p;
  };
  good = await api.addFolder({ path: watch('Day01'), destinationId: dest.id, mhl: true, hashAlgorithms: ['xxh64'], webhookUrl: `${receiver.url}?token=${URL_TOKEN}` });
  failing = await api.addFolder({ path: watch('Day02'), destinationId: denied.id, mhl: true, hashAlgorithms: ['xxh64'], webhookUrl: `${downReceiver.url}?token=${URL_TOKEN}` });
  await writeRandomFile(path.join(good.path, 'A001_C001.mov'), 6 * MiB);
  await writeRandomFile(path.join(good.path, 'A001_C002.mov'), 1 * MiB);
  await writeRandomFile(path.join(failing.path, 'B001_C001.mov'), 1 * MiB);

  // Real entries before the page opens: one batch written, one failed; events delivered and given up.
  await until('both batches to settle', () => {
    const states = engine.listBatches().map((b) => b.state).sort();
    return states.length === 2 && states.join() === 'failed,written';
  }, WAIT_MS);
  await until('the failing receiver’s events to be given up', () => {
    const theirs = engine.webhooks.outbox.all().filter((e) => e.url.startsWith(downReceiver.url));
    return theirs.length === 2 && theirs.every((e) => e.givenUpAt !== null);
  }, WAIT_MS);
  await until('the good receiver to hear of both files and the batch', () => receiver.ids.length === 3, WAIT_MS);

  ({ browser, page, pageErrors } = await openApp(host.url, WAIT_MS));
});

onClose(async () => {
  await browser?.close();
  await host?.close();
  api?.dispose();
  // The watcher stops before the engine whose database it reads.
  for (const stop of [() => watcher?.stop(), () => engine?.close(), () => receiver.stop(), () => downReceiver.stop(), () => logFile?.close()]) await stop();
});

async function go(nav: 'batches' | 'webhooks' | 'support' | 'uploads'): Promise<void> {
  await page.getByTestId(`nav-${nav}`).click();
  await page.getByTestId(`screen-${nav}`).waitFor();
}

test('ASC MHL batches: a written batch with its manifest, a denied one failed with its error, and Retry from the UI writes it once the bucket allows it', async () => {
  await go('batches');
  const [written, failed] = [engine.listBatches().find((b) => b.state === 'written')!, engine.listBatches().find((b) => b.state === 'failed')!];
  const writtenRow = page.locator(`[data-testid="batch-row"][data-batch-id="${written.id}"]`);
  const failedRow = page.locator(`[data-testid="batch-row"][data-batch-id="${failed.id}"]`);
  await writtenRow.locator('[data-testid="batch-state"][data-state="written"]').waitFor();
  assert.equal(await writtenRow.getByTestId('batch-manifest').textContent(), `s3://${bucket}/${written.manifestKey}`);
  assert.match(written.manifestKey!, /^ascmhl\/0001_Day01_.*\.mhl$/);
  await writtenRow.getByTestId('batch-files-toggle').click();
  assert.equal(await writtenRow.getByTestId('batch-file').count(), 2);
  await failedRow.locator('[data-testid="batch-state"][data-state="failed"]').waitFor();
  assert.match((await failedRow.getByTestId('batch-error').textContent()) ?? '', /denied/i);
  assert.equal(await writtenRow.getByTestId('batch-retry').count(), 0, 'only a failed batch offers Retry');
  await screenshotBothThemes(page, 'batches');

  // The bucket fixed, Retry from the UI: the generation is written and the page says so.
  await limitedPolicy(false);
  await failedRow.getByTestId('batch-retry').click();
  await failedRow.locator('[data-testid="batch-state"][data-state="written"]').waitFor();
  const manifest = (await failedRow.getByTestId('batch-manifest').textContent())!;
  assert.match(manifest, new RegExp(`^s3://${deniedBucket}/ascmhl/0001_Day02_.*\\.mhl$`));
  const listed = await client.send(new ListObjectsV2Command({ Bucket: deniedBucket, Prefix: 'ascmhl/' }));
  assert.ok(listed.Contents?.some((o) => `s3://${deniedBucket}/${o.Key}` === manifest), 'the manifest is in the bucket');
  // What the CLI lists is what the page showed.
  const cli = await hoist(['--db', path.join(dir, 'hoist.db'), 'batches', 'list', '--json']);
  assert.deepEqual((JSON.parse(cli.stdout) as { batches: Array<{ id: number; state: string }> }).batches.map((b) => [b.id, b.state]).sort(), [[written.id, 'written'], [failed.id, 'written']].sort());
});

test('Webhooks: each folder’s deliveries, the down receiver’s given up with its error, and Retry (one, then all given up) delivers them once it answers', async () => {
  await go('webhooks');
  const goodGroup = page.locator(`[data-testid="webhook-folder"][data-folder-id="${good.id}"]`);
  const downGroup = page.locator(`[data-testid="webhook-folder"][data-folder-id="${failing.id}"]`);
  await goodGroup.locator('[data-testid="webhook-row"][data-state="delivered"]').nth(2).waitFor();
  const givenUp = downGroup.locator('[data-testid="webhook-row"][data-state="given-up"]');
  await givenUp.nth(1).waitFor();
  assert.match((await givenUp.first().getByTestId('webhook-error').textContent()) ?? '', /503/);
  await screenshotBothThemes(page, 'webhooks');

  downReceiver.status = 204;
  const first = (await givenUp.first().getAttribute('data-event-id'))!;
  await givenUp.first().getByTestId('webhook-retry').click();
  await downGroup.locator(`[data-testid="webhook-row"][data-event-id="${first}"][data-state="delivered"]`).waitFor();
  await page.getByTestId('webhooks-retry-given-up').click();
  await until('every event of the down receiver to be delivered', () => engine.webhooks.outbox.all().filter((e) => e.url.startsWith(downReceiver.url)).every((e) => e.deliveredAt !== null), WAIT_MS);
  await downGroup.locator('[data-testid="webhook-row"][data-state="delivered"]').nth(1).waitFor();
  assert.equal(new Set(downReceiver.received.filter((r) => r.body.type).map((r) => r.id)).size, 2);
  // The CLI's list says the same.
  const cli = await hoist(['--db', path.join(dir, 'hoist.db'), 'webhooks', '--json']);
  const events = (JSON.parse(cli.stdout) as { events: Array<{ state: string; folderId: number }> }).events;
  assert.deepEqual(events.map((e) => e.state), ['delivered', 'delivered', 'delivered', 'delivered', 'delivered']);
  assert.deepEqual([...new Set(events.map((e) => e.folderId))].sort(), [good.id, failing.id].sort());
});

test('the lifecycle rule: set by `hoist uploads lifecycle --days`, shown in the app; set in the app, shown by the CLI', async () => {
  const cli = ['--db', path.join(dir, 'cli.db'), '--endpoint', endpoint, '--path-style', 'uploads', 'lifecycle', '--bucket', bucket];
  const set = await hoist([...cli, '--days', '12', '--json']);
  assert.equal(set.code, 0, set.stderr);
  await go('uploads');
  const summary = page.getByTestId('lifecycle-summary');
  await page.locator('[data-testid="lifecycle-summary"][data-days="12"]').waitFor();
  assert.match((await summary.getByTestId('lifecycle-rule').textContent()) ?? '', /aborted 12 days after they begin/);
  await page.getByTestId('install-lifecycle').click();
  const dialog = page.getByTestId('lifecycle-dialog');
  assert.equal(await dialog.getByTestId('lifecycle-days').inputValue(), '12', 'the dialog opens on the bucket’s rule');
  await dialog.getByTestId('lifecycle-days').fill('30');
  await dialog.getByTestId('confirm-lifecycle').click();
  await page.locator('[data-testid="lifecycle-summary"][data-days="30"]').waitFor();
  const shown = await hoist([...cli, '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual((JSON.parse(shown.stdout) as { rule: unknown }).rule, { id: 'hoist-abort-incomplete-multipart', days: 30, prefix: '', enabled: true });
  // The CLI refuses 3651 days, as the host's schema now does (test/unit/schemas.test.ts).
  const refused = await hoist([...cli, '--days', '3651']);
  assert.equal(refused.code, 2);
});

test('Support: the log file’s path and download, and a diagnostics export through the UI that holds the events and versions and no secret', async () => {
  logger('e2e').info(`a line from the engine's own logger, with the limited user's key ${user.env.AWS_SECRET_ACCESS_KEY} leaked into it`);
  await go('support');
  assert.equal(await page.getByTestId('support-log-path').textContent(), logFile.path);
  await screenshotBothThemes(page, 'support');

  const [logDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('support-download-log').click()]);
  const log = fs.readFileSync((await logDownload.path())!, 'utf8');
  assert.match(log, /a line from the engine's own logger/);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('support-export').click()]);
  assert.match(download.suggestedFilename(), /^hoist-diagnostics-.*\.tar\.gz$/);
  const archive = zlib.gunzipSync(fs.readFileSync((await download.path())!)).toString('utf8');
  const secrets = {
    limitedUserKey: user.env.AWS_SECRET_ACCESS_KEY,
    processKey: process.env.AWS_SECRET_ACCESS_KEY!,
    goodSigningSecret: engine.webhooks.secrets.current(good.id)!,
    failingSigningSecret: engine.webhooks.secrets.current(failing.id)!,
    urlToken: URL_TOKEN,
    hostToken: host.token,
  };
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(secret && secret.length >= 8, `${what} is known to the test`);
    assert.ok(!archive.includes(secret), `${what} is in the diagnostics file`);
  }
  assert.match(archive, /"node": "\d+\.\d+\.\d+"/);
  assert.match(archive, /A001_C001\.mov/, 'the job events are there');
  assert.match(archive, /a line from the engine's own logger, with the limited user's key \[redacted\]/);

  // Both downloads are behind the token: without the page's cookie the host refuses them.
  for (const p of ['/support/hoist.log', '/support/diagnostics']) {
    assert.equal((await fetch(new URL(p, host.url))).status, 401, p);
  }
  assert.deepEqual(pageErrors, []);
});
