// A first run that works (issue 14) end to end: Debian's Chromium on the real headless host, the
// real engine, the local S3 server. From an empty database the app opens on "Add a destination";
// a profile with a wrong secret shows the server's refusal inline (auth.invalid-credentials), the
// right one passes the test and is saved; the app then shows the queue and a file sent through the
// send sheet arrives byte for byte; changed and sent again with "Keep both" it makes a second key. Then "Use a
// local test server": the host starts the checkout's scripts/s3-server.sh (a second radosgw, about
// 10 s), creates its bucket and adds it; a file sent there arrives; disposing of the host stops it.
// Screenshots: first-run, first-run-refused, first-run-passed, first-run-local, send-sheet-if-exists.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Browser, Page } from 'playwright-core';
import { LOCAL_TEST_BUCKET } from '../../shared/setup.js';
import { RENDERER_DIR } from '../../src-main/cli/serve.js';
import { EngineApi } from '../../src-main/engine/api.js';
import { Engine } from '../../src-main/engine/engine.js';
import { CredentialSource } from '../../src-main/engine/s3/connection.js';
import { firstRunWiring, localServerPaths } from '../../src-main/engine/setup/setup-service.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import { collectPageErrors, launchBrowser, screenshotBothThemes } from '../support/browser.js';
import { until } from '../support/engine.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 90_000;

const { client, endpoint, bucket, dir, onClose } = await s3Fixture('e2e-first-run');
const env = s3Env();
fs.mkdirSync(path.join(dir, 'home'));
const root = fs.realpathSync(path.join(dir, 'home'));

// The host's ~/.aws: one profile with a wrong secret, one with the right keys (the process's own
// AWS_ACCESS_KEY_ID is skipped by the chain once a profile is named).
const awsDir = path.join(dir, 'aws');
fs.mkdirSync(awsDir);
fs.writeFileSync(path.join(awsDir, 'config'), '');
fs.writeFileSync(
  path.join(awsDir, 'credentials'),
  `[wrong-secret]\naws_access_key_id = ${env.accessKeyId}\naws_secret_access_key = not-${env.secretAccessKey}\n\n[footage]\naws_access_key_id = ${env.accessKeyId}\naws_secret_access_key = ${env.secretAccessKey}\n`,
);
process.env.AWS_CONFIG_FILE = path.join(awsDir, 'config');
process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(awsDir, 'credentials');

let browser: Browser;
const closers: Array<() => Promise<void> | void> = [];

before(async () => {
  browser = await launchBrowser();
});

onClose(async () => {
  await browser?.close();
  for (const close of closers.reverse()) await close();
});

/** A host over an empty database in its own folder, and a page on it. */
async function emptyHost(label: string, setup: 'none' | 'checkout'): Promise<{ engine: Engine; api: EngineApi; host: HeadlessHost; page: Page; errors: string[]; dbPath: string }> {
  const dbPath = path.join(dir, label, 'hoist.db');
  fs.mkdirSync(path.dirname(dbPath));
  const wiring = setup === 'checkout' ? firstRunWiring({ dbPath, packaged: false }) : null;
  assert.ok(setup === 'none' || wiring?.setup.localServer, 'this checkout has the local S3 server installed (the tests run on it)');
  const engine = new Engine({ dbPath, scheduler: { tickMs: 50, retry: { baseDelayMs: 50, maxDelayMs: 500 } }, ...(wiring ? { credentials: new CredentialSource(wiring.secrets) } : {}) });
  const api = new EngineApi(engine, { roots: [root], ...(wiring ? { setup: wiring.setup } : {}) });
  engine.start();
  const host = await startHeadlessHost({ api, staticDir: RENDERER_DIR });
  closers.push(async () => {
    await host.close();
    api.dispose();
    await engine.close();
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(host.url);
  return { engine, api, host, page, errors, dbPath };
}

/** Picks one file in the host's file browser and waits for the send sheet. */
async function stageFile(page: Page, name: string): Promise<void> {
  await page.getByTestId('add-files').click();
  const b = page.getByTestId('file-browser');
  await b.locator(`[data-testid="file-browser-row"][data-name="${name}"]`).getByTestId('file-browser-tick').check();
  await b.getByTestId('file-browser-add').click();
  await page.getByTestId('send-sheet').getByTestId('send-item').first().waitFor();
}

/** Whether the process runs (a zombie, stopped but not yet reaped by init, has an empty command line). */
function running(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
}

async function keysIn(s3: S3Client, b: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: b }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

test('from an empty database: "Add a destination", a wrong secret refused inline, the right profile tested and saved, then a file sent through the sheet arrives byte for byte; "Keep both" makes a second key', async () => {
  const { engine, page, errors } = await emptyHost('profiles', 'none');
  const form = page.getByTestId('first-run-form');
  await page.getByTestId('screen-first-run').waitFor();
  assert.equal(await page.getByTestId('screen-queue').count(), 0, 'not the empty queue');
  // The headless host keeps no keys and offers no local server (not asked to).
  await page.getByTestId('first-run-no-keychain').waitFor();
  assert.equal(await page.getByTestId('first-run-cred-keys').isDisabled(), true);
  assert.equal(await page.getByTestId('first-run-local').count(), 0);
  await screenshotBothThemes(page, 'first-run');

  await page.getByTestId('first-run-kind-compatible').check();
  await form.getByTestId('first-run-endpoint').fill(endpoint);
  await form.getByTestId('first-run-bucket').fill(bucket);
  await form.getByTestId('first-run-name').fill('Footage (local S3)');
  await form.getByTestId('first-run-cred-profile').check();
  await form.getByText('Found in ~/.aws: footage, wrong-secret.').waitFor();
  await form.getByTestId('first-run-profile').fill('wrong-secret');
  await form.getByTestId('first-run-test').click();
  const failure = page.getByTestId('first-run-failure');
  await failure.waitFor();
  assert.equal(await failure.getAttribute('data-code'), 'auth.invalid-credentials');
  assert.match(await failure.innerText(), /the secret key is wrong/);
  assert.equal(await page.getByTestId('first-run-save').isDisabled(), true, 'not saved before the test passes');
  await page.getByTestId('first-run-save-anyway').waitFor();
  assert.equal(engine.store.listDestinations().length, 0);
  await screenshotBothThemes(page, 'first-run-refused');

  // A profile that does not exist: no credentials found, said as such.
  await form.getByTestId('first-run-profile').fill('nobody');
  await form.getByTestId('first-run-test').click();
  await page.locator('[data-testid="first-run-failure"][data-code="auth.no-credentials"]').waitFor();

  await form.getByTestId('first-run-profile').fill('footage');
  await form.getByTestId('first-run-test').click();
  await page.getByTestId('first-run-passed').waitFor();
  await screenshotBothThemes(page, 'first-run-passed');
  await page.getByTestId('first-run-save').click();
  await page.getByTestId('screen-queue').waitFor();
  const [dest] = engine.store.listDestinations();
  assert.ok(dest);
  assert.deepEqual([dest.name, dest.endpoint, dest.bucket, dest.profile, dest.pathStyle, dest.credentials], ['Footage (local S3)', endpoint, bucket, 'footage', true, 'chain']);

  // The queue, then a file through the send sheet.
  const clip = await writeRandomFile(path.join(root, 'A001_C001.mov'), 6 * MiB + 17);
  await stageFile(page, 'A001_C001.mov');
  const sheet = page.getByTestId('send-sheet');
  await sheet.getByTestId('send-prefix').fill('day01/');
  assert.equal(await sheet.getByTestId('send-if-exists').inputValue(), '', 'the destination\'s policy until chosen');
  await sheet.getByTestId('send-sheet-save').click();
  await sheet.waitFor({ state: 'hidden' });
  await page.locator('[data-testid="job-row"][data-key="day01/A001_C001.mov"][data-state="done"]').waitFor();
  assert.equal(await sha256OfObject(client, bucket, 'day01/A001_C001.mov'), await sha256OfFile(clip));

  // The file changes (a new take under the same name) and goes again with "Keep both": the destination's
  // skip-identical would replace the object; keep-both leaves it and makes a second key.
  const firstBytes = await sha256OfFile(clip);
  await writeRandomFile(clip, 5 * MiB + 3);
  await stageFile(page, 'A001_C001.mov');
  await sheet.getByTestId('send-if-exists').selectOption('keep-both');
  await screenshotBothThemes(page, 'send-sheet-if-exists');
  await sheet.getByTestId('send-sheet-save').click();
  await sheet.waitFor({ state: 'hidden' });
  const second = await until('the second job kept both', () => engine.listJobs().find((j) => j.state === 'done' && j.outcome === 'kept-both'), WAIT_MS);
  assert.equal(second.key, 'day01/A001_C001 (1).mov');
  assert.deepEqual(await keysIn(client, bucket), ['day01/A001_C001 (1).mov', 'day01/A001_C001.mov']);
  assert.equal(await sha256OfObject(client, bucket, second.key), await sha256OfFile(clip));
  assert.equal(await sha256OfObject(client, bucket, 'day01/A001_C001.mov'), firstBytes, 'the first object is untouched');
  assert.equal(engine.store.sendDefaults.list()[0]?.ifExists, 'keep-both', 'remembered for the destination');
  // The sheet opens on it next time.
  await stageFile(page, 'A001_C001.mov');
  assert.equal(await sheet.getByTestId('send-if-exists').inputValue(), 'keep-both');
  await sheet.getByRole('button', { name: 'Cancel' }).click();
  assert.deepEqual(errors, []);
  recordResult('first-run-wrong-secret', {
    what: 'First run from an empty database: a profile with a wrong secret tested from "Add a destination"',
    outcome: 'auth.invalid-credentials shown inline, nothing saved; the right profile passed, was saved, and a file sent through the sheet arrived byte for byte',
  });
});

test('"Use a local test server": the host starts the checkout\'s radosgw under its data folder, adds its bucket as a destination, a file sent there arrives, and the server stops with the host', async () => {
  const { engine, api, page, errors, dbPath } = await emptyHost('local', 'checkout');
  const { dataDir } = localServerPaths(dbPath);
  // Stopped at the end whatever happens (the host's own stop is checked below).
  closers.unshift(() => api.dispose());
  await page.getByTestId('first-run-local').waitFor();
  await screenshotBothThemes(page, 'first-run-local');
  await page.getByTestId('first-run-use-local').click();
  await page.getByTestId('screen-queue').waitFor({ timeout: 180_000 });
  const [dest] = engine.store.listDestinations();
  assert.ok(dest?.endpoint);
  assert.equal(dest.bucket, LOCAL_TEST_BUCKET);
  const pidFile = path.join(dataDir, 'run', 'client.rgw.gw.pid');
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  assert.ok(running(pid), 'radosgw runs from the host\'s data folder');

  const clip = await writeRandomFile(path.join(root, 'B002_C004.mov'), 1 * MiB + 5);
  await stageFile(page, 'B002_C004.mov');
  const sheet = page.getByTestId('send-sheet');
  await sheet.getByTestId('send-sheet-save').click();
  await page.locator('[data-testid="job-row"][data-key="B002_C004.mov"][data-state="done"]').waitFor();
  const local = new S3Client({ endpoint: dest.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testkey', secretAccessKey: 'testsecret' } });
  try {
    assert.equal(await sha256OfObject(local, LOCAL_TEST_BUCKET, 'B002_C004.mov'), await sha256OfFile(clip));
  } finally {
    local.destroy();
  }
  assert.deepEqual(errors, []);

  api.dispose();
  assert.equal(running(pid), false, 'stopped when the host stopped');
  recordResult('first-run-local-server', {
    what: '"Use a local test server" from a checkout, then the host stopped',
    outcome: 'the checkout\'s radosgw started under the host\'s data folder, its bucket added as a destination, a file arrived byte for byte; its daemon gone once the host stopped',
  });
});
