// The queue as a person sees it (Debian's Chromium on the headless host, a real engine and radosgw
// behind a counting proxy): a file sent again whose bytes the bucket already holds is a row that
// says "Already in the bucket"; a job that waits for another writer of its key says for which job.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { RENDERER_DIR } from '../../src-main/cli/serve.js';
import { EngineApi } from '../../src-main/engine/api.js';
import { startHeadlessHost } from '../../src-main/hosts/headless/host.js';
import { collectPageErrors, launchBrowser } from '../support/browser.js';
import { testEngine, until } from '../support/engine.js';
import { MiB, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { bucket, proxy, dir, onClose } = await s3Fixture('ui-ifexists', { proxy: true });
const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, name: 'Dailies (local S3)', concurrency: 4 });
const api = new EngineApi(engine, {});
engine.start();
const host = await startHeadlessHost({ api, staticDir: RENDERER_DIR });
let browser: Browser | undefined;
onClose(async () => {
  await browser?.close();
  await host.close();
  api.dispose();
  await engine.close();
});

test('the queue shows "Already in the bucket" for a file sent again, and "Waiting for job N" for a second writer of one key', async () => {
  const file = await writeRandomFile(path.join(dir, 'A009C001.mov'), 2 * MiB);
  const [first] = await engine.enqueue([file], { destination: dest, key: 'day09/A009C001.mov' });
  await until('the first upload', () => engine.getJob(first!.id)?.state === 'done');
  proxy.reset();
  const [again] = await engine.enqueue([file], { destination: dest, key: 'day09/A009C001.mov' });
  await until('the second job to end', () => engine.getJob(again!.id)?.state === 'done');
  assert.equal(proxy.counts().PutObject, 0);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(host.url);
  const row = (id: number) => page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
  await row(again!.id).waitFor();
  assert.equal(await row(again!.id).getAttribute('data-outcome'), 'already-there');
  assert.equal((await row(again!.id).getByTestId('job-state').innerText()).trim(), 'Already in the bucket');
  assert.equal((await row(first!.id).getByTestId('job-state').innerText()).trim(), 'Done', 'the first sent it: an ordinary done row');

  // With the page open: a writer held on the wire, and a second job for its key; the queue follows live.
  const other = await writeRandomFile(path.join(dir, 'A009C002.mov'), MiB);
  proxy.addFault({ operation: 'PutObject', times: 1, action: { kind: 'stall', ms: 5000 } });
  const [writer] = await engine.enqueue([other], { destination: dest, key: 'day09/A009C002.mov' });
  const [waiter] = await engine.enqueue([file], { destination: dest, key: 'day09/A009C002.mov' });
  await until('the second writer to wait', () => engine.getJob(waiter!.id)?.waitingFor === writer!.id);
  const waiting = row(waiter!.id).getByTestId('job-state');
  await waiting.filter({ hasText: `Waiting for job ${writer!.id}` }).waitFor();
  assert.equal(await waiting.getAttribute('data-waiting-for'), String(writer!.id));
  await until('both to end', () => [writer, waiter].every((j) => engine.getJob(j!.id)?.state === 'done'));
  await row(waiter!.id).getByTestId('job-state').filter({ hasText: 'Done' }).waitFor();
  assert.deepEqual(errors, []);
});
