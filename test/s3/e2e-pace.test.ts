// Pace and settings in the app (issue 14) end to end: Debian's Chromium on the real headless host, the
// real engine, the local S3 server behind the fault proxy. The proxy plays a link of fixed speed (its
// throttle: radosgw on loopback would take a test-sized file in a blink) and counts the bytes that
// go through it, so the rate an upload really runs at is measured outside Hoist. A limit typed in
// the Pace screen while the upload runs is followed (the rate measured over a window after the
// change, within ±20%); a weekly timetable window set in the screen shows in the status line;
// automatic concurrency is switched on and off from the screen; settings survive a host restart.
// Screenshots: pace, pace-timetable, settings (light and dark) in build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { whenText } from '../../shared/pace-line.js';
import { WEEKDAYS } from '../../shared/timetable.js';
import type { Destination } from '../../shared/types.js';
import { RENDERER_DIR } from '../../src-main/cli/serve.js';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { startHeadlessHost, type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import { openApp, screenshotBothThemes } from '../support/browser.js';
import { sleep, testEngine, until } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { MiB, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 60_000;
/** The link the proxy plays: every request body shares it. */
const LINK = 8_000_000;

const { client, bucket, proxy, dir, newBucket, onClose } = await s3Fixture('e2e-pace', { proxy: true });
const root = fs.realpathSync(dir);
let engine: Engine;
let dest: Destination;
let second: Destination;
let api: EngineApi;
let host: HeadlessHost;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let jobId: number;
let file: string;

function open(): void {
  ({ engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, name: 'Dailies (local S3)', partSize: 5 * MiB, concurrency: 4, singlePutThreshold: 0 }));
  api = new EngineApi(engine, { roots: [root] });
  engine.start();
}

before(async () => {
  open();
  second = engine.upsertDestination({ ...dest, name: 'Archive (local S3)', bucket: await newBucket('e2e-pace-archive') });
  host = await startHeadlessHost({ api, staticDir: RENDERER_DIR });
  ({ browser, page, pageErrors } = await openApp(host.url, WAIT_MS, 1000));
});

onClose(async () => {
  proxy.setBandwidth(null);
  await browser?.close();
  await host?.close();
  api?.dispose();
  await engine?.close();
});

/** Bytes per second through the proxy over `ms` (the proxy counts request bodies it passed upstream). */
async function rateOver(ms: number): Promise<number> {
  const b0 = proxy.bytesForwarded();
  const t0 = performance.now();
  await sleep(ms);
  return (proxy.bytesForwarded() - b0) / ((performance.now() - t0) / 1000);
}

const mbps = (r: number) => `${(r / 1e6).toFixed(2)} MB/s`;

function within20(measured: number, limit: number, what: string): void {
  console.log(`e2e-pace: ${what}: ${mbps(measured)} measured at the proxy under a ${mbps(limit)} limit (${((100 * measured) / limit).toFixed(0)}%)`);
  assert.ok(measured >= limit * 0.8 && measured <= limit * 1.2, `${what}: ${mbps(measured)} is not within ±20% of ${mbps(limit)}`);
}

const globalCard = (): Locator => page.getByTestId('pace-global');
const destCard = (d: Destination): Locator => page.locator(`[data-testid="pace-destination"][data-destination-id="${d.id}"]`);

async function setGlobalLimit(mb: string): Promise<void> {
  const card = globalCard();
  await card.getByTestId('limit-rate').fill(mb);
  await card.getByTestId('limit-save').click();
  await page.locator('[data-testid="notice-success"]').filter({ hasText: 'Saved the limit for all uploads' }).last().waitFor();
}

test('a limit typed in the Pace screen while an upload runs is followed: the rate at the proxy moves to it within seconds', { timeout: 5 * 60_000 }, async () => {
  file = await writeRandomFile(path.join(root, 'A003_C007.mov'), 192 * MiB);
  proxy.reset();
  proxy.setBandwidth(LINK);
  jobId = (await engine.enqueue([file], { destination: dest, key: 'paced/A003_C007.mov' }))[0]!.id;
  await until('the upload under way', () => proxy.bytesForwarded() >= 4 * MiB);
  await page.getByTestId('nav-pace').click();
  await page.getByTestId('screen-pace').waitFor();
  const free = await rateOver(3000);
  console.log(`e2e-pace: ${mbps(free)} with no limit, over a ${mbps(LINK)} link`);
  assert.equal(await page.getByTestId('pace-status').count(), 0, 'no limit, nothing in the status line');

  // Lowered well below the link: the upload follows, without stopping.
  const LOW = 2_000_000;
  await setGlobalLimit('2');
  // The change reaches the part workers at once, but what they wrote before it waits in the sockets'
  // buffers (megabytes a connection on loopback) and the played link still forwards it at 8 MB/s: a
  // fixed 2 s wait once left 2 MB of it in the window (2.43 MB/s measured). Measured once the
  // backlog is gone, which it never is if the limit is not followed.
  await until('the backlog written before the limit drained', async () => (await rateOver(1000)) < LOW * 1.2, 60_000);
  within20(await rateOver(5000), LOW, 'after setting 2 MB/s');
  await page.getByTestId('pace-status').filter({ hasText: 'Limited to 2 MB/s' }).waitFor();
  assert.equal(await globalCard().getByTestId('limit-holding').count(), 1, 'the screen says the limit holds uploads back');
  assert.equal(engine.getJob(jobId)!.state, 'running');

  // Raised: it follows up as well.
  const HIGH = 4_000_000;
  await setGlobalLimit('4');
  await sleep(2000);
  within20(await rateOver(5000), HIGH, 'after raising it to 4 MB/s');
  await page.getByTestId('pace-status').filter({ hasText: 'Limited to 4 MB/s' }).waitFor();
  await screenshotBothThemes(page, 'pace');
});

test('a weekly timetable window set in the screen holds now and the status line names it with its end', { timeout: 3 * 60_000 }, async () => {
  const now = new Date();
  const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const from = hhmm(new Date(now.getTime() - 60 * 60_000));
  const end = new Date(now.getTime() + 90 * 60_000);
  const to = hhmm(end);
  // Today and yesterday: a window begun yesterday evening that runs past midnight holds this morning.
  const today = WEEKDAYS[now.getDay()]!;
  const yesterday = WEEKDAYS[(now.getDay() + 6) % 7]!;
  const card = globalCard();
  await card.getByTestId('limit-rate').fill('');
  await card.getByTestId('timetable-add').click();
  const row = card.getByTestId('timetable-row').last();
  for (const day of WEEKDAYS) {
    const box = row.getByTestId(`timetable-day-${day}`);
    if ((await box.isChecked()) !== (day === today || day === yesterday)) await box.click();
  }
  await row.getByTestId('timetable-from').fill(from);
  await row.getByTestId('timetable-to').fill(to);
  await row.getByTestId('timetable-rate').fill('3');
  await card.getByTestId('limit-save').click();

  const expected = `Limited to 3 MB/s (timetable: until ${whenText(end, new Date())})`;
  await page.getByTestId('pace-status').filter({ hasText: expected }).waitFor();
  const [limit] = engine.pace.bandwidthLimits();
  assert.equal(limit!.bytesPerSecond, null, 'unlimited outside the window');
  assert.deepEqual(limit!.schedule, [{ from, to, bytesPerSecond: 3_000_000, days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].filter((d) => d === today || d === yesterday) }]);
  assert.equal(limit!.effectiveBytesPerSecond, 3_000_000);
  assert.equal(limit!.fromTimetable, true);
  await sleep(2000);
  within20(await rateOver(5000), 3_000_000, 'under the timetable window of 3 MB/s');
  console.log(`e2e-pace: status line: "${expected}"`);
  await card.getByTestId('limit-now').filter({ hasText: 'timetable' }).waitFor();
  await screenshotBothThemes(page, 'pace-timetable');
});

test('automatic concurrency is switched on with bounds and off again from the screen; the current value shows live', { timeout: 3 * 60_000 }, async () => {
  const card = destCard(dest);
  await card.getByTestId('concurrency-mode').filter({ hasText: 'fixed at 4' }).waitFor();
  await card.getByTestId('concurrency-automatic').check();
  await card.getByTestId('concurrency-min').fill('2');
  await card.getByTestId('concurrency-max').fill('6');
  await card.getByTestId('concurrency-save').click();
  await card.getByTestId('concurrency-mode').filter({ hasText: 'automatic, 2 to 6' }).waitFor();
  assert.deepEqual(engine.pace.concurrencyBounds(), [{ destinationId: dest.id, min: 2, max: 6 }]);
  // The value in force, from the engine's lane for this destination (it carries the upload).
  const shown = Number(await card.getByTestId('concurrency-current').innerText());
  const lane = engine.pace.concurrencyOf(dest.id).limit;
  assert.ok(shown >= 2 && shown <= 6, `the current value ${shown} is within the bounds`);
  assert.ok(lane !== null && lane >= 2 && lane <= 6, `the lane's ${lane} too`);

  await card.getByTestId('concurrency-automatic').uncheck();
  await card.getByTestId('concurrency-save').click();
  await card.getByTestId('concurrency-mode').filter({ hasText: 'fixed at 4' }).waitFor();
  assert.deepEqual(engine.pace.concurrencyBounds(), []);
  await card.getByTestId('concurrency-current').filter({ hasText: '4' }).waitFor();
});

test('with the limit removed the upload ends whole, and the status line goes quiet', { timeout: 5 * 60_000 }, async () => {
  await globalCard().getByTestId('limit-remove').click();
  await page.locator('[data-testid="notice-success"]').filter({ hasText: 'Removed the limit for all uploads' }).waitFor();
  assert.deepEqual(engine.pace.bandwidthLimits(), []);
  proxy.setBandwidth(null);
  await page.getByTestId('pace-status').waitFor({ state: 'detached' });
  const [done] = await engine.waitFor([jobId]);
  assert.equal(done!.state, 'done', JSON.stringify(engine.events(jobId)));
  assert.equal(await sha256OfObject(client, bucket, 'paced/A003_C007.mov'), await sha256OfFile(file));
});

test('settings saved in the Settings screen are kept across a restart of the host and its engine', { timeout: 3 * 60_000 }, async () => {
  await page.getByTestId('nav-settings').click();
  const form = page.getByTestId('settings-form');
  await form.waitFor();
  assert.equal(await form.getByTestId('settings-log-level').inputValue(), 'info', 'the defaults at first');
  assert.equal(await form.getByTestId('settings-notify-failed').isChecked(), true);
  await form.getByTestId('settings-default-destination').selectOption({ label: second.name });
  await form.getByTestId('settings-notify-failed').uncheck();
  await form.getByTestId('settings-start-at-login').check();
  await form.getByTestId('settings-log-level').selectOption('debug');
  await form.getByTestId('settings-save').click();
  await page.locator('[data-testid="notice-success"]').filter({ hasText: 'Settings saved.' }).waitFor();
  await screenshotBothThemes(page, 'settings');

  // The host and its engine stop and start again on the same database, port and token.
  const { port, token } = host;
  await host.close();
  api.dispose();
  await engine.close();
  open();
  host = await startHeadlessHost({ api, staticDir: RENDERER_DIR, port, token });
  await page.reload();
  await form.waitFor();
  assert.equal(await form.getByTestId('settings-default-destination').inputValue(), String(second.id));
  assert.equal(await form.getByTestId('settings-notify-delivered').isChecked(), true);
  assert.equal(await form.getByTestId('settings-notify-failed').isChecked(), false);
  assert.equal(await form.getByTestId('settings-start-at-login').isChecked(), true);
  assert.equal(await form.getByTestId('settings-log-level').inputValue(), 'debug');
  assert.deepEqual(await api.getSettings(), { defaultDestinationId: second.id, notifications: { batchDelivered: true, jobFailed: false }, startAtLogin: true, logLevel: 'debug' });

  // The send sheet opens on the default destination (without it: the first, nothing having been sent yet).
  await page.getByTestId('nav-queue').click();
  await page.getByTestId('add-files').click();
  const b = page.getByTestId('file-browser');
  await b.locator('[data-testid="file-browser-row"][data-name="A003_C007.mov"]').getByTestId('file-browser-tick').check();
  await b.getByTestId('file-browser-add').click();
  const sheet = page.getByTestId('send-sheet');
  await sheet.getByTestId('send-item').first().waitFor();
  await until('the sheet on the default destination', async () => (await sheet.getByTestId('send-destination').inputValue()) === String(second.id));
  await page.keyboard.press('Escape');
  await sheet.waitFor({ state: 'hidden' });
  pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !/WebSocket connection to .*\/bridge' failed/.test(e)));
});

test('the page logged no error', () => {
  assert.deepEqual(pageErrors, []);
});
