// "Send files now" (issue 14) end to end: Debian's Chromium on the real headless host, with the real
// engine and the local S3 server behind it. Files and a folder are picked in the host's file
// browser (a browser cannot reveal paths), sent from the sheet with a prefix, priority and hashes,
// and compared byte for byte with GetObject; the sheet remembers the settings per destination; a
// path outside the host's roots (typed, or through a symlink) is refused with a clear message in
// the UI and when a crafted request goes straight to the bridge. Screenshots of the file browser,
// the sheet and the drop overlay, light and dark, land in build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Locator, Page } from 'playwright-core';
import WebSocket from 'ws';
import type { ErrorInfo } from '../../shared/errors.js';
import type { DirectoryListing, SendFilesInput } from '../../shared/local-files.js';
import type { Destination } from '../../shared/types.js';
import { EngineApi } from '../../src-main/engine/api.js';
import type { Engine } from '../../src-main/engine/engine.js';
import { type HeadlessHost } from '../../src-main/hosts/headless/host.js';
import { screenshotBothThemes } from '../support/browser.js';
import { testEngine, until } from '../support/engine.js';
import { startHoist, whileServing } from '../support/hoist-cli.js';
import { recordResult } from '../support/results.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { serveApp, type AppUnderTest } from '../support/ui-session.js';
import { MiB, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

/** Generous: a guard against a hang, never a statement about speed. */
const WAIT_MS = 60_000;

const { client, endpoint, bucket, dir, newBucket, onClose } = await s3Fixture('e2e-send');
fs.mkdirSync(path.join(dir, 'home'));
/** The one folder this host may read; everything else in `dir` is outside it. */
const root = fs.realpathSync(path.join(dir, 'home'));
const outside = path.join(fs.realpathSync(dir), 'elsewhere');
const SECRET = 'outside the roots: must never be listed or queued';
let engine: Engine;
let dest: Destination;
let second: Destination;
let api: EngineApi;
let app: AppUnderTest;
let host: HeadlessHost;
let page: Page;
let pageErrors: string[];

before(async () => {
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
  // Inside the root, leading out of it: a folder link, and a file link inside a folder one might send.
  fs.symlinkSync(outside, path.join(root, 'escape'));
  fs.mkdirSync(path.join(root, 'Leaky'));
  fs.writeFileSync(path.join(root, 'Leaky', 'notes.txt'), 'fine');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'Leaky', 'secret-link.txt'));

  ({ engine, dest } = testEngine(dir, { endpoint, bucket, name: 'Dailies (local S3)' }));
  second = engine.upsertDestination({ ...dest, name: 'Archive (local S3)', bucket: await newBucket('e2e-send-archive') });
  api = new EngineApi(engine, { roots: [root] });
  engine.start();
  app = await serveApp(api, WAIT_MS);
  ({ host, page, pageErrors } = app);
});

onClose(async () => {
  await app?.close();
  await engine?.close();
});

const row = (name: string): Locator => page.locator(`[data-testid="file-browser-row"][data-name="${name}"]`);

/** Opens the host's file browser from the queue's "Add files…" and waits for the root's listing. */
async function openBrowser(): Promise<Locator> {
  await page.getByTestId('add-files').click();
  const b = page.getByTestId('file-browser');
  await b.waitFor();
  // A single root: the browser goes straight into it.
  await b.locator('[aria-current="location"]').filter({ hasText: root }).waitFor();
  return b;
}

/** A bridge socket with the token and the host's own Origin, as a script (not a browser) opens it. */
async function openBridge(port: number | string, token: string): Promise<{ call(method: string, ...args: unknown[]): Promise<{ result?: unknown; error?: ErrorInfo }>; close(): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/bridge?token=${token}`, { headers: { Origin: `http://127.0.0.1:${port}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const answers = new Map<number, { result?: unknown; error?: ErrorInfo }>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { id?: number; result?: unknown; error?: ErrorInfo };
    if (typeof m.id === 'number') answers.set(m.id, m);
  });
  let next = 1;
  return {
    async call(method, ...args) {
      const id = next++;
      ws.send(JSON.stringify({ id, method, args }));
      return until(`the answer to ${method}`, () => answers.get(id));
    },
    close: () => ws.close(),
  };
}

/** The keys the sheet shows, without the s3://bucket/ in front. */
async function previewKeys(sheet: Locator, bucketName: string): Promise<string[]> {
  const texts = await sheet.getByTestId('send-preview-key').allInnerTexts();
  return texts.map((t) => {
    assert.ok(t.startsWith(`s3://${bucketName}/`), t);
    return t.slice(`s3://${bucketName}/`.length);
  });
}

async function objectKeys(bucketName: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucketName }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

test('files and a folder picked in the host\'s file browser arrive under the prefix, byte for byte, with the sheet\'s priority and hashes', async () => {
  const card = path.join(root, 'Card_A002');
  fs.mkdirSync(path.join(card, 'CLIPS'), { recursive: true });
  fs.mkdirSync(path.join(card, 'SOUND'));
  const files = {
    'day01/CLIPS/A002_C001_0925XY.mov': await writeRandomFile(path.join(card, 'CLIPS', 'A002_C001_0925XY.mov'), 7 * MiB + 123),
    'day01/CLIPS/A002_C002_0925XY.mov': await writeRandomFile(path.join(card, 'CLIPS', 'A002_C002_0925XY.mov'), 2 * MiB),
    'day01/SOUND/A002_T01.wav': await writeRandomFile(path.join(card, 'SOUND', 'A002_T01.wav'), 300_000),
    'day01/render_v12.mov': await writeRandomFile(path.join(root, 'render_v12.mov'), 6 * MiB + 1),
  };

  const b = await openBrowser();
  // The root's entries: folders first, the link that leads out shown as such, without a box to tick.
  assert.equal(await row('escape').getAttribute('data-kind'), 'outside');
  assert.equal(await row('escape').getByTestId('file-browser-tick').count(), 0);
  assert.equal(await row('render_v12.mov').getAttribute('data-kind'), 'file');
  await row('Card_A002').getByTestId('file-browser-tick').check();
  await row('render_v12.mov').getByTestId('file-browser-tick').check();
  // Into the folder and back by its breadcrumb: the selection stays.
  await row('Card_A002').getByTestId('file-browser-open').click();
  await row('CLIPS').waitFor();
  assert.match(await b.getByTestId('file-browser-crumbs').innerText(), /Card_A002/);
  await b.getByTestId('file-browser-crumbs').getByRole('button', { name: root }).click();
  await row('render_v12.mov').waitFor();
  await b.getByTestId('file-browser-count').filter({ hasText: '2 selected' }).waitFor();
  await screenshotBothThemes(page, 'send-file-browser');
  await b.getByTestId('file-browser-add').click();
  await b.waitFor({ state: 'detached' });

  const sheet = page.getByTestId('send-sheet');
  await sheet.getByTestId('send-item').nth(1).waitFor();
  await sheet.getByTestId('send-destination').selectOption(String(dest.id));
  await sheet.getByTestId('send-prefix').fill('day01/');
  await sheet.getByTestId('send-priority').selectOption('high');
  await sheet.getByTestId('send-hash-md5').check();
  // The keys the engine would use: the folder's files by their path under it, the file by its name.
  await until('the preview of the four keys under day01/', async () => {
    const keys = await previewKeys(sheet, bucket).catch(() => []);
    return keys.length === 4 && keys.every((k) => k.startsWith('day01/')) ? keys : undefined;
  });
  assert.deepEqual((await previewKeys(sheet, bucket)).sort(), Object.keys(files).sort());
  assert.match(await sheet.getByTestId('send-preview-total').innerText(), /^4 files, 15\.\d MiB/);
  await screenshotBothThemes(page, 'send-sheet');
  await sheet.getByTestId('send-sheet-save').click();
  await page.getByTestId('notice-success').filter({ hasText: 'Queued 4 files' }).waitFor();
  await sheet.waitFor({ state: 'hidden' });

  for (const key of Object.keys(files)) await page.locator(`[data-testid="job-row"][data-key="${key}"][data-state="done"]`).waitFor();
  for (const [key, file] of Object.entries(files)) {
    assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), `${key} is byte for byte the file`);
    const job = engine.listJobs().find((j) => j.key === key)!;
    assert.equal(job.sourcePath, file);
    assert.equal(job.priority, 'high');
    assert.deepEqual(job.hashAlgorithms, ['xxh64', 'md5']);
    assert.match(job.hashes.md5 ?? '', /^[0-9a-f]{32}$/);
  }
  assert.deepEqual(await objectKeys(bucket), Object.keys(files).sort(), 'nothing else went to the bucket');
});

test('the sheet starts from what was last used for each destination, remembered by the engine; a folder sent with ASC MHL gets its generation', async () => {
  const card = path.join(root, 'Card_B001');
  fs.mkdirSync(card);
  const clip = await writeRandomFile(path.join(card, 'B001_C001_0925AB.mov'), 1 * MiB);
  assert.deepEqual(
    engine.store.sendDefaults.list().map(({ usedAt: _u, ...d }) => d),
    [{ destinationId: dest.id, prefix: 'day01/', priority: 'high', hashes: ['xxh64', 'md5'], mhl: false, ifExists: null }],
    'the engine kept the first send\'s settings for its destination',
  );

  // "Add folder…" picks folders: the browser offers no box for files, and sends the folder shown.
  await page.getByTestId('add-folders').click();
  const b = page.getByTestId('file-browser');
  await row('Card_B001').getByTestId('file-browser-open').click();
  await row('B001_C001_0925AB.mov').waitFor();
  assert.equal(await row('B001_C001_0925AB.mov').getByTestId('file-browser-tick').count(), 0);
  await b.getByTestId('file-browser-this-folder').click();

  const sheet = page.getByTestId('send-sheet');
  await sheet.locator(`[data-testid="send-item"][data-path="${card}"]`).waitFor();
  // Opened on the destination used last, with its settings.
  assert.equal(await sheet.getByTestId('send-destination').inputValue(), String(dest.id));
  assert.equal(await sheet.getByTestId('send-prefix').inputValue(), 'day01/');
  assert.equal(await sheet.getByTestId('send-priority').inputValue(), 'high');
  assert.equal(await sheet.getByTestId('send-hash-md5').isChecked(), true);
  // Another destination, never used: what `hoist upload` does without options.
  await sheet.getByTestId('send-destination').selectOption(String(second.id));
  assert.equal(await sheet.getByTestId('send-prefix').inputValue(), '');
  assert.equal(await sheet.getByTestId('send-priority').inputValue(), 'normal');
  assert.equal(await sheet.getByTestId('send-hash-md5').isChecked(), false);
  assert.equal(await sheet.getByTestId('send-hash-xxh64').isChecked(), true);
  await sheet.getByTestId('send-prefix').fill('cards/B001');
  await sheet.getByTestId('send-mhl').check();
  await sheet.getByTestId('send-hash-xxh64').uncheck();
  await sheet.getByTestId('send-mhl-problem').waitFor();
  assert.equal(await sheet.getByTestId('send-sheet-save').isDisabled(), true, 'no ASC MHL without a hash it records');
  await sheet.getByTestId('send-hash-xxh64').check();
  await sheet.getByTestId('send-preview-key').filter({ hasText: `s3://${second.bucket}/cards/B001/B001_C001_0925AB.mov` }).waitFor();
  await sheet.getByTestId('send-sheet-save').click();
  await sheet.waitFor({ state: 'hidden' });

  const key = 'cards/B001/B001_C001_0925AB.mov';
  await page.locator(`[data-testid="job-row"][data-key="${key}"][data-state="done"]`).waitFor();
  assert.equal(await sha256OfObject(client, second.bucket, key), await sha256OfFile(clip));
  const job = engine.listJobs().find((j) => j.key === key && j.destinationId === second.id)!;
  const batch = await until('the ASC MHL generation to be written', () => {
    const b2 = job.batchId === null ? undefined : engine.batch(job.batchId);
    return b2?.state === 'written' ? b2 : undefined;
  });
  assert.match(batch.manifestKey ?? '', /^cards\/B001\/ascmhl\/0001_/);
  assert.ok((await objectKeys(second.bucket)).includes(batch.manifestKey!), 'the generation is in the bucket');
  assert.deepEqual(
    engine.store.sendDefaults.list().map((d) => [d.destinationId, d.prefix, d.mhl]),
    [[second.id, 'cards/B001', true], [dest.id, 'day01/', false]],
    'each destination keeps its own, the latest first',
  );
});

test('outside the roots, in the UI: a typed path and a symlink that leads out are refused with a clear message; a folder hiding such a link is not queued', async () => {
  const b = await openBrowser();
  await b.getByTestId('file-browser-path').fill(outside);
  await b.getByTestId('file-browser-go').click();
  const error = b.getByTestId('file-browser-error');
  await error.filter({ hasText: `${outside} is outside the folders this Hoist may read files from (${root})` }).waitFor();
  assert.equal(await error.getByTestId('error-detail').getAttribute('data-code'), 'source.outside-roots');
  await screenshotBothThemes(page, 'send-file-browser-refused');

  await b.getByTestId('file-browser-path').fill(path.join(root, 'escape'));
  await b.getByTestId('file-browser-go').click();
  await error.filter({ hasText: 'is a symlink (or lies under one) that leads outside the folders this Hoist may read' }).waitFor();
  assert.equal(await b.getByTestId('file-browser-row').filter({ hasText: SECRET }).count(), 0);

  // A folder inside the root, holding a link to a file outside: the sheet says so and cannot send.
  await row('Leaky').getByTestId('file-browser-tick').check();
  await b.getByTestId('file-browser-add').click();
  const sheet = page.getByTestId('send-sheet');
  await sheet.getByTestId('send-preview').getByTestId('error-detail').filter({ hasText: `${path.join(root, 'Leaky', 'secret-link.txt')} is a symlink` }).waitFor();
  assert.equal(await sheet.getByTestId('send-preview').getByTestId('error-detail').getAttribute('data-code'), 'source.outside-roots');
  assert.equal(await sheet.getByTestId('send-sheet-save').isDisabled(), true);
  await screenshotBothThemes(page, 'send-sheet-refused');
  await page.keyboard.press('Escape');
  await sheet.waitFor({ state: 'hidden' });
  assert.ok(!engine.listJobs().some((j) => j.sourcePath.startsWith(path.join(root, 'Leaky'))), 'nothing of that folder was queued');
});

test('outside the roots, straight to the bridge: crafted listDirectory, previewSend and sendFiles requests are refused, through symlinks too, and nothing is queued', async () => {
  const bridge = await openBridge(host.port, host.token);
  const call = bridge.call;
  const send = (paths: string[]): SendFilesInput => ({ paths, destinationId: dest.id, prefix: 'leak/', priority: 'normal', hashes: [], mhl: false });
  try {
    // The root itself is listed, so the socket works and the refusals below are about the paths.
    const listed = (await call('listDirectory', root)).result as DirectoryListing;
    assert.ok(listed.entries.some((e) => e.name === 'escape' && e.kind === 'outside' && e.size === null));

    const refusals: Array<[string, unknown[], string, RegExp]> = [
      ['listDirectory', [outside], 'source.outside-roots', /is outside the folders this Hoist may read files from/],
      ['listDirectory', ['/etc'], 'source.outside-roots', /^\/etc is outside/],
      ['listDirectory', [path.join(root, 'escape')], 'source.outside-roots', /is a symlink \(or lies under one\) that leads outside/],
      ['listDirectory', [`${root}/../elsewhere`], 'config.invalid', /^listDirectory: path must not contain \. or \.\. segments\.$/],
      ['listDirectory', ['elsewhere'], 'config.invalid', /path must be an absolute path/],
      ['sendFiles', [send([path.join(outside, 'secret.txt')])], 'source.outside-roots', /secret\.txt is outside/],
      ['sendFiles', [send([path.join(root, 'escape', 'secret.txt')])], 'source.outside-roots', /is a symlink/],
      ['sendFiles', [send([path.join(root, 'escape')])], 'source.outside-roots', /is a symlink/],
      ['sendFiles', [send([path.join(root, 'Leaky', 'secret-link.txt')])], 'source.outside-roots', /is a symlink/],
      // A folder inside, one of whose files is a link out: refused whole, naming the file.
      ['sendFiles', [send([path.join(root, 'Leaky')])], 'source.outside-roots', /Leaky\/secret-link\.txt is a symlink/],
      ['sendFiles', [send([path.join(root, 'render_v12.mov'), path.join(outside, 'secret.txt')])], 'source.outside-roots', /secret\.txt is outside/],
      ['sendFiles', [send([`${root}/../elsewhere/secret.txt`])], 'config.invalid', /input\.paths\.0 must not contain \. or \.\. segments/],
      ['sendFiles', [{ ...send([root]), roots: ['/'] }], 'config.invalid', /input has unknown field\(s\) "roots"/],
      ['previewSend', [send([path.join(outside, 'secret.txt')])], 'source.outside-roots', /is outside/],
      ['previewSend', [send([path.join(root, 'escape')])], 'source.outside-roots', /is a symlink/],
    ];
    for (const [method, args, code, message] of refusals) {
      const a = await call(method, ...args);
      assert.equal(a.error?.code, code, `${method} ${JSON.stringify(args)} answered ${JSON.stringify(a)}`);
      assert.match(a.error.message, message);
    }
    assert.ok(!engine.listJobs().some((j) => j.key.startsWith('leak/')), 'no job was made');
    assert.ok(!(await objectKeys(bucket)).some((k) => k.startsWith('leak/')), 'nothing went to the bucket');
    recordResult('send-outside-roots', {
      what: 'crafted bridge requests to list or send paths outside the host\'s roots: /etc, a sibling folder, a symlink (folder and file) leading out, a folder hiding a link out, `..` segments',
      outcome: `all ${refusals.length} refused (source.outside-roots, or config.invalid for .. and relative paths) naming the path; no job, no object; the UI shows the same messages`,
    });
  } finally {
    bridge.close();
  }
});

test('`hoist serve --root A --root B` lists and sends from exactly those folders; a --root that does not exist stops it at start', async () => {
  const other = fs.realpathSync(tempDir('e2e-send-root'));
  onClose(() => fs.rmSync(other, { recursive: true, force: true }));
  const db = path.join(tempDir('e2e-send-serve'), 'hoist.db');
  const result = await whileServing(['--db', db, 'serve', '--port', '0', '--root', root, '--root', other], async (url) => {
    const bridge = await openBridge(url.port, url.searchParams.get('token')!);
    try {
      const top = (await bridge.call('listDirectory', null)).result as DirectoryListing;
      assert.deepEqual(top.roots, [root, other]);
      assert.deepEqual(top.entries.map((e) => e.path), [root, other]);
      assert.equal((await bridge.call('listDirectory', other)).error, undefined);
      assert.equal((await bridge.call('listDirectory', outside)).error?.code, 'source.outside-roots');
    } finally {
      bridge.close();
    }
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`Files may be sent from: ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  const refused = await startHoist(['--db', db, 'serve', '--port', '0', '--root', path.join(root, 'no-such-folder')]).done;
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--root .*no-such-folder: no such folder/);
});

test('files dropped on the page: the overlay says what a drop does, and in a browser the drop opens the host\'s file browser explaining why', async () => {
  // A drag from the file manager, as the page sees it (the tests' TypeScript has no DOM: the script is text).
  await page.evaluate(`(() => {
    const data = new DataTransfer();
    data.items.add(new File(['x'], 'A002_C003_0925XY.mov'));
    window.__drop = data;
    document.querySelector('main').dispatchEvent(new DragEvent('dragenter', { bubbles: true, dataTransfer: data }));
  })()`);
  await page.getByTestId('drop-overlay').filter({ hasText: 'A browser cannot tell Hoist where dropped files are' }).waitFor();
  await screenshotBothThemes(page, 'send-drop-overlay');
  await page.evaluate(`document.querySelector('main').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__drop }))`);
  await page.getByTestId('drop-overlay').waitFor({ state: 'detached' });
  await page.getByTestId('file-browser-note').filter({ hasText: '“A002_C003_0925XY.mov”' }).waitFor();
  await page.keyboard.press('Escape');
  await page.getByTestId('file-browser').waitFor({ state: 'detached' });
});

test('the page logged no error', () => {
  assert.deepEqual(pageErrors, []);
});
