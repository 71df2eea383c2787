// Builds the renderer into build/renderer/: index.html plus hashed assets, nothing inline, so a
// strict `default-src 'self'` CSP holds in both hosts. `--mode fake` builds the screenshot/dev
// variant that talks to an in-page fake HoistApi instead of a host (never shipped, never tested e2e).
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(({ mode }) => ({
  root,
  // Relative asset URLs: the same build loads from the headless host's `/` and from Electron's file://.
  base: './',
  plugins: [svelte()],
  define: { __HOIST_FAKE__: JSON.stringify(mode === 'fake') },
  build: {
    outDir: fileURLToPath(new URL(mode === 'fake' ? '../build/renderer-fake' : '../build/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No data: URIs and no inline preload polyfill: both would need CSP exceptions.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
}));
