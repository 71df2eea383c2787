// The app as the UI tests drive it: the headless host serving the built renderer for an engine's
// API, and Debian's Chromium on it (browser.ts), opened once the queue shows; closed in the order
// they were opened (the engine and any folder watcher are the test's own to close after).
import { beforeEach } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { RENDERER_DIR } from '../../src-main/cli/serve.js';
import type { EngineApi } from '../../src-main/engine/api.js';
import { startHeadlessHost, type HeadlessHost, type HeadlessHostOptions } from '../../src-main/hosts/headless/host.js';
import { openApp } from './browser.js';
import type { S3Proxy } from './s3-proxy.js';

export interface AppUnderTest {
  host: HeadlessHost;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** What the page logged as an error; a file ends by asserting it is empty. */
  pageErrors: string[];
  /** The browser, then the host (`host` as it is then), then the API's subscriptions. */
  close(): Promise<void>;
}

export async function serveApp(api: EngineApi, waitMs: number, o: { height?: number; host?: Omit<HeadlessHostOptions, 'api' | 'staticDir'> } = {}): Promise<AppUnderTest> {
  const host = await startHeadlessHost({ api, staticDir: RENDERER_DIR, ...o.host });
  const { browser, page, pageErrors } = await openApp(host.url, waitMs, o.height);
  const app: AppUnderTest = {
    host,
    browser,
    context: page.context(),
    page,
    pageErrors,
    async close() {
      await browser.close();
      // This host, or the one a test started in its place (on the same port and token).
      await this.host.close();
      api.dispose();
    },
  };
  return app;
}

/** The app's screens, as its navigation names them. */
export type Screen = 'queue' | 'uploads' | 'folders' | 'destinations';

/** Opens a screen from the navigation and waits until it shows. */
export async function goTo(page: Page, nav: Screen): Promise<void> {
  await page.getByTestId(`nav-${nav}`).click();
  await page.getByTestId(`screen-${nav}`).waitFor();
}

/** Visible controls with no name a screen reader could say (no aria-label, no text, no label). */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.locator('button, a[href], select, input, textarea, [role="slider"]').evaluateAll((els) =>
    els
      .filter((el) => el.checkVisibility() && !(el.getAttribute('aria-label') || el.innerText?.trim() || el.labels?.length))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

/** Before each test: the proxy unthrottled and without faults, so a test that failed half-way cannot slow or fault the next. */
export function cleanProxyEachTest(proxy: Pick<S3Proxy, 'setBandwidth' | 'clearFaults'>): void {
  beforeEach(() => {
    proxy.setBandwidth(null);
    proxy.clearFaults();
  });
}
