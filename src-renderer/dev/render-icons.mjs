// Renders assets/icon.svg into the PNGs electron-builder packs (assets/icon.png at 1024 px for
// macOS and Windows, assets/icons/NxN.png for Linux), with Debian's Chromium.
// Run after changing the SVG: node src-renderer/dev/render-icons.mjs
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const assets = fileURLToPath(new URL('../../assets/', import.meta.url));
const svg = fs.readFileSync(assets + 'icon.svg', 'utf8');
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];

fs.mkdirSync(assets + 'icons', { recursive: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  for (const size of SIZES) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const scaled = svg.replace('width="1024" height="1024"', `width="${size}" height="${size}"`);
    await page.setContent(`<!doctype html><style>html,body{margin:0;background:transparent}svg{display:block}</style>${scaled}`);
    const png = await page.screenshot({ omitBackground: true });
    // 1024 px only as icon.png: Linux desktops go up to 512.
    fs.writeFileSync(size === 1024 ? assets + 'icon.png' : `${assets}icons/${size}x${size}.png`, png);
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(`rendered ${SIZES.length} sizes into ${assets}icons/ and ${assets}icon.png`);
