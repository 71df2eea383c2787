import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * The modules Node's ESM loader loads when `hoist` starts (bin/hoist.js imports cli/main.js), as a
 * loader hook sees them. Each one is paid for by every command, `hoist upload` included, before its
 * first request (docs/performance.md, "Before the first byte").
 */
function esmLoadedByCli(): string[] {
  const hook = `import fs from 'node:fs'; export async function load(url, context, next) { fs.writeSync(2, 'LOADED ' + url + '\\n'); return next(url, context); }`;
  const main = new URL('../../src-main/cli/main.js', import.meta.url).href;
  const out = spawnSync(process.execPath, ['--no-warnings', '--experimental-loader', `data:text/javascript,${encodeURIComponent(hook)}`, '--input-type=module', '-e', `await import(${JSON.stringify(main)});`], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return out.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length));
}

test("the command line's start loads neither the served UI's host nor the AWS SDK through the ESM loader", () => {
  const loaded = esmLoadedByCli();
  assert.ok(loaded.some((u) => u.endsWith('/engine/engine.js')), 'the hook saw the engine load');
  // `hoist serve`'s host (its HTTP and WebSocket server, zod's schemas, mime-types) loads with that command.
  assert.deepEqual(loaded.filter((u) => /\/hosts\/|\/node_modules\/(zod|ws|mime-types)\//.test(u)), []);
  // The SDK is required (engine/cjs.ts): imported, the loader scans its files first (50-100 ms CPU).
  assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/@aws-sdk/')), []);
});
