// The CLI opens the process's runtime as the desktop app does (cli/with-hoist.ts): every command
// writes the log file beside its database, and a `hoist serve` that found another process working
// the queue takes over once that process stops. Needs no S3 server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { until } from '../support/engine.js';
import { hoist, startHoist } from '../support/hoist-cli.js';

const tempDir = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `hoist-${label}-`));

/** A `hoist serve` on `db`, with what it has written to stderr so far. */
function serve(db: string) {
  const served = startHoist(['--db', db, 'serve', '--port', '0']);
  let stderr = '';
  served.child.stderr!.on('data', (d) => (stderr += d));
  return { ...served, stderr: () => stderr };
}

test('a short command writes hoist.log beside its --db, as the runtime opens it', async () => {
  const db = path.join(tempDir('cli-log'), 'hoist.db');
  const r = await hoist(['--db', db, 'jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(path.dirname(db), 'hoist.log')));
});

test('a waiting `hoist serve` takes the queue over when the process working it stops', async () => {
  const db = path.join(tempDir('serve-takeover'), 'hoist.db');
  const first = serve(db);
  await until('the first serve to listen', () => first.stderr().includes('Hoist is serving its UI'));
  const second = serve(db);
  try {
    await until('the second serve to find the queue worked', () => /the queue is worked by Hoist pid \d+/.exec(second.stderr()));
    assert.ok(second.stderr().includes(`pid ${first.child.pid} `), second.stderr());
    first.child.kill('SIGINT');
    const firstResult = await first.done;
    assert.equal(firstResult.code, 0, firstResult.stderr);
    await until('the second serve to take over', () => second.stderr().includes('this one now works the queue'));
  } finally {
    first.child.kill('SIGINT');
    second.child.kill('SIGINT');
  }
  const secondResult = await second.done;
  assert.equal(secondResult.code, 0, secondResult.stderr);
});
