// Debian's Chromium driven by playwright-core, and screenshots of each screen in both themes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** build/screenshots/, beside the compiled tests (build/test/support/ → build/screenshots/). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../screenshots/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH.`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Errors the page logs or throws: a test ends by asserting there were none. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * Photographs the page as it is, in the light and the dark theme (the app follows the OS setting,
 * which emulateMedia stands in for), as build/screenshots/<name>-light.png and -dark.png.
 */
export async function screenshotBothThemes(page: Page, name: string): Promise<string[]> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const files: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    // Moving bars and pulsing parts would blur between the two shots.
    const file = path.join(SCREENSHOT_DIR, `${name}-${colorScheme}.png`);
    await page.screenshot({ path: file, animations: 'disabled' });
    files.push(file);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return files;
}

/** Chromium on the app at `url` (a host's address with its token), in a 1440×900 window (or as tall as asked), once its queue shows. */
export async function openApp(url: string, waitMs: number, height = 900): Promise<{ browser: Browser; page: Page; pageErrors: string[] }> {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1440, height }, acceptDownloads: true });
  context.setDefaultTimeout(waitMs);
  const page = await context.newPage();
  const pageErrors = collectPageErrors(page);
  await page.goto(url);
  await page.getByTestId('screen-queue').waitFor();
  return { browser, page, pageErrors };
}
