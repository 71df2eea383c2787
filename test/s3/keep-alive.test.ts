// Connections are kept alive across files (issue 12): 200 small files sent through the fault proxy
// (it counts the TCP connections clients open to it) use a few connections, not one or more per
// file. The proxy stands in front of radosgw here only to count; it injects no fault.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { testEngine } from '../support/engine.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, proxy } = await s3Fixture('keep-alive', { proxy: true });

test('200 small files go over a few kept-alive connections, each arriving byte for byte', async () => {
  const dir = tempDir('keep-alive');
  const frames = path.join(dir, 'frames');
  fs.mkdirSync(frames);
  const files: string[] = [];
  for (let i = 0; i < 200; i++) files.push(await writeRandomFile(path.join(frames, `f${String(i).padStart(4, '0')}.dpx`), 64 * 1024 + i));
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, concurrency: 4 });
  try {
    proxy.reset();
    const jobs = await engine.enqueue([frames], { destination: dest, prefix: 'ka' });
    engine.start();
    const done = await engine.waitFor(jobs.map((j) => j.id));
    assert.ok(done.every((j) => j.state === 'done'));
    const connections = proxy.connectionsAccepted();
    const requests = proxy.requests().length;
    console.log(`# 200 files: ${requests} requests over ${connections} TCP connections`);
    // Each worker thread and the main thread keep their own pool: a handful each, never one per file.
    assert.ok(connections < files.length / 4, `${requests} requests over ${connections} connections for ${files.length} files`);
    for (const file of files.slice(0, 20)) assert.equal(await sha256OfObject(client, bucket, `ka/${path.basename(file)}`), await sha256OfFile(file));
  } finally {
    await engine.close();
  }
});
