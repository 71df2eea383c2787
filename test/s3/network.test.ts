// A hostile network: 10% SlowDown, 5% resets mid-body, a stall past the idle timeout. Every file arrives whole; concurrency backs off, then recovers.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { testEngine, until } from '../support/engine.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('network', { proxy: true });

const CONCURRENCY = 4;
const IDLE_TIMEOUT_MS = 3000;

test('10% SlowDown, 5% resets, one long stall: byte-identical objects; concurrency backs off and recovers', { timeout: 10 * 60_000 }, async () => {
  const sizes = { 'B001C001.mov': 160 * MiB, 'B001C002.mov': 96 * MiB, 'B001C003.mov': 48 * MiB };
  const files = await Promise.all(Object.entries(sizes).map(([name, size]) => writeRandomFile(path.join(dir, name), size)));
  const partCount = Object.values(sizes).reduce((a, s) => a + Math.ceil(s / (8 * MiB)), 0);
  proxy.reset();
  // Throttled so the upload outlasts the faulty stretch by well over the 5 s the lane needs to climb back.
  proxy.setBandwidth(16 * MiB);
  proxy.addFault({ operation: 'UploadPart', times: 1, action: { kind: 'stall', ms: IDLE_TIMEOUT_MS * 3 } });
  // One of each for certain, so a lucky draw cannot let the test pass without the fault it claims to survive.
  proxy.addFault({ operation: 'UploadPart', times: 1, action: { kind: 'reset', afterBytes: 2 * MiB } });
  proxy.addFault({ operation: 'UploadPart', times: 1, action: { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
  proxy.addFault({ operation: 'UploadPart', probability: 0.1, action: { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
  proxy.addFault({ operation: 'UploadPart', probability: 0.05, action: { kind: 'reset', afterBytes: 2 * MiB } });

  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, partSize: 8 * MiB, concurrency: CONCURRENCY, singlePutThreshold: 0 }, { idleTimeoutMs: IDLE_TIMEOUT_MS });
  const changes: Array<{ limit: number; reason: string; faultsCleared: boolean }> = [];
  let faultsCleared = false;
  engine.on('concurrency', (c) => changes.push({ limit: c.limit, reason: c.reason, faultsCleared }));
  try {
    const jobs = await engine.enqueue(files, { destination: dest, prefix: 'net' });
    engine.start();
    const done = () => jobs.reduce((a, j) => a + engine.parts(j.id).filter((p) => p.state === 'done').length, 0);
    await until('half the parts through the faults', () => done() >= partCount / 2, 5 * 60_000);
    proxy.clearFaults();
    faultsCleared = true;
    const finals = await engine.waitFor(jobs.map((j) => j.id));
    for (const f of finals) assert.equal(f!.state, 'done', JSON.stringify(engine.events(f!.id)));

    for (const file of files) {
      const key = `net/${path.basename(file)}`;
      assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file), `${key} differs from its source`);
    }
    assert.deepEqual(await listUploads(client, bucket), [], 'no incomplete upload is left');

    const faulted = proxy.requests().filter((r) => r.faulted);
    const count = (re: RegExp) => faulted.filter((r) => re.test(r.faulted!)).length;
    const retries = jobs.flatMap((j) => engine.events(j.id)).filter((e) => e.kind === 'part-retry');
    const retryCodes = new Set(retries.map((e) => e.code));
    console.log(`network: ${partCount} parts, ${count(/SlowDown/)} SlowDown, ${count(/reset/)} resets, ${count(/stall/)} stall; retries by code ${JSON.stringify([...retryCodes])}; concurrency ${changes.map((c) => `${c.limit}:${c.reason}`).join(' ')}`);
    assert.ok(count(/SlowDown/) > 0 && count(/reset/) > 0 && count(/stall/) === 1, 'every kind of fault was injected');
    assert.ok(retryCodes.has('s3.slow-down') && retryCodes.has('net.timeout'), `the stall was abandoned as net.timeout and SlowDown retried: ${JSON.stringify([...retryCodes])}`);
    assert.ok(retryCodes.has('net.reset') || retryCodes.has('net.unreachable'), `resets were retried: ${JSON.stringify([...retryCodes])}`);
    const firstBackOff = changes.findIndex((c) => c.reason === 'SlowDown');
    assert.ok(firstBackOff >= 0 && changes[firstBackOff]!.limit < CONCURRENCY, `concurrency backed off under SlowDown: ${JSON.stringify(changes)}`);
    // Recovery is owed after the last SlowDown, whether the faulty stretch was still running (a sparse draw) or had been cleared.
    const lastBackOff = changes.map((c) => c.reason).lastIndexOf('SlowDown');
    const recovered = changes.filter((c, i) => i > lastBackOff && c.reason === 'recovered' && c.limit > changes[lastBackOff]!.limit);
    assert.ok(recovered.length > 0, `concurrency climbed back after the last SlowDown: ${JSON.stringify(changes)}`);
    recordResult('network', {
      what: `3 files, ${partCount} parts of 8 MiB, concurrency ${CONCURRENCY}: 10% 503 SlowDown, 5% resets after 2 MiB of body, one stall of ${IDLE_TIMEOUT_MS * 3} ms (idle timeout ${IDLE_TIMEOUT_MS} ms)`,
      outcome: `all SHA-256 equal, 0 uploads left; ${count(/SlowDown/)} SlowDown, ${count(/reset/)} resets retried; concurrency ${changes.map((c) => `${c.limit} (${c.reason})`).join(' → ')}`,
    });
  } finally {
    proxy.clearFaults();
    proxy.setBandwidth(null);
    await engine.close();
  }
});
