// Faults injected by a proxy in front of the real server: retried with back-off, never a broken object.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { testEngine } from '../support/engine.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('faults', { proxy: true });

test('503 SlowDown lowers the parts in flight; resets and 500s are retried; the object is whole', async () => {
  const dir = tempDir('faults');
  const file = await writeRandomFile(path.join(dir, 'B001C001.mov'), 80 * MiB);
  proxy.reset();
  proxy.addFault({ operation: 'UploadPart', times: 3, action: { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
  proxy.addFault({ operation: 'UploadPart', times: 2, action: { kind: 'reset', afterBytes: 1024 * 1024 } });
  proxy.addFault({ operation: 'UploadPart', times: 2, action: { kind: 'status', status: 500, code: 'InternalError' } });
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 0, concurrency: 4 });
  const limits: number[] = [];
  engine.on('concurrency', (c) => limits.push(c.limit));
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key: 'faults/B001C001.mov' });
    engine.start();
    const [final] = await engine.waitFor([job!.id]);
    assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
    const faulted = proxy.requests().filter((r) => r.faulted);
    assert.ok(faulted.some((r) => /SlowDown/.test(r.faulted!)), 'the proxy answered SlowDown at least once');
    assert.ok(limits.length > 0 && Math.min(...limits) < 4, `concurrency was lowered under SlowDown (limits seen: ${limits.join(',')})`);
    const retries = engine.events(job!.id).filter((e) => e.kind === 'part-retry');
    assert.equal(retries.length, faulted.length, 'every fault was retried once it was seen');
    assert.ok(retries.some((e) => e.code === 's3.slow-down'));
    assert.equal(await sha256OfObject(client, bucket, 'faults/B001C001.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), []);
  } finally {
    proxy.clearFaults();
    await engine.close();
  }
});
