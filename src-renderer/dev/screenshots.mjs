// Design loop without a host: serves the `--mode fake` build and photographs every screen, light
// and dark, into build/screenshots/fake/. Run: npx vite build --config src-renderer/vite.config.ts
// --mode fake && node src-renderer/dev/screenshots.mjs. The real screenshots come from the e2e test.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../build/renderer-fake/', import.meta.url));
const out = fileURLToPath(new URL('../../build/screenshots/fake/', import.meta.url));
fs.mkdirSync(out, { recursive: true });

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const file = path.join(root, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
  if (!file.startsWith(root) || !fs.existsSync(file)) return res.writeHead(404).end();
  // The same strict policy the hosts use: anything inline would be refused here too.
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': "default-src 'self'" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const only = process.argv[2];
try {
  for (const colorScheme of ['light', 'dark']) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme });
    page.on('console', (m) => m.type() === 'error' && console.error(`[${colorScheme}] console:`, m.text()));
    page.on('pageerror', (e) => console.error(`[${colorScheme}] page error:`, e.message));
    await page.clock.install();
    await page.goto(base + '#/queue');
    await page.getByTestId('job-row').first().waitFor();
    // Two minutes of simulated transfer, so the throughput chart has a history to draw.
    await page.clock.runFor(125_000);
    const shots = [
      ['queue', '#/queue', 'job-row'],
      ['job', '#/jobs/6', 'part-map'],
      ['job-verified', '#/jobs/1', 'job-hashes'],
      ['uploads', '#/uploads/1', 'remote-row'],
      ['folders', '#/folders', 'folder-row'],
      ['destinations', '#/destinations', 'destination-card'],
      ['pace', '#/pace', 'concurrency-control'],
      ['settings', '#/settings', 'settings-form'],
    ];
    for (const [name, hash, ready] of shots) {
      if (only && !name.startsWith(only)) continue;
      await page.evaluate((h) => (window.location.hash = h), hash);
      await page.getByTestId(ready).first().waitFor();
      await page.clock.runFor(2000);
      if (name === 'destinations') {
        for (const b of await page.getByTestId('test-connection').all()) await b.click();
        await page.clock.runFor(1500);
        await page.getByTestId('test-results').nth(1).waitFor();
      }
      await page.screenshot({ path: path.join(out, `${name}-${colorScheme}.png`) });
    }
    if (!only || only === 'dialogs') {
      await page.evaluate(() => (window.location.hash = '#/uploads/1'));
      await page.getByTestId('remote-abort').first().click();
      await page.clock.runFor(300);
      await page.screenshot({ path: path.join(out, `abort-dialog-${colorScheme}.png`) });
      await page.keyboard.press('Escape');
      await page.evaluate(() => (window.location.hash = '#/destinations'));
      await page.getByTestId('add-destination').click();
      await page.screenshot({ path: path.join(out, `destination-dialog-${colorScheme}.png`) });
      await page.keyboard.press('Escape');
      await page.evaluate(() => (window.location.hash = '#/folders'));
      await page.getByTestId('folder-edit').first().click();
      // The whole form in one picture: as tall as the dialog needs.
      await page.setViewportSize({ width: 1440, height: 1400 });
      await page.screenshot({ path: path.join(out, `folder-dialog-${colorScheme}.png`) });
      await page.setViewportSize({ width: 1440, height: 900 });
    }
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`screenshots in ${out}`);
