// Pace (issue 6): a bandwidth limit holds over a window of bytes through the proxy and can be changed
// while the upload runs (from another process, as `hoist limit` does); automatic concurrency rises
// while throughput does and falls back on SlowDown, within its bounds. Assertions are on bytes and on
// the tuner's recorded decisions, with generous bounds: a slow machine can only make the figures smaller.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseRate, parseSchedule, effectiveRate } from '../../src-main/engine/pacing/bandwidth.js';
import { sleep, testDbPath, testEngine, until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir } = await s3Fixture('pacing', { proxy: true });

/** Bytes per second through the proxy over `ms`. */
async function rateOver(ms: number): Promise<number> {
  const b0 = proxy.bytesForwarded();
  const t0 = performance.now();
  await sleep(ms);
  return (proxy.bytesForwarded() - b0) / ((performance.now() - t0) / 1000);
}

test('rates and schedules parse as media people and network people write them; nonsense is refused clearly', () => {
  assert.equal(parseRate('50MB/s'), 50_000_000);
  assert.equal(parseRate('40MiB/s'), 40 * MiB);
  assert.equal(parseRate('400Mbit/s'), 50_000_000);
  assert.equal(parseRate('400Mbps'), 50_000_000);
  assert.equal(parseRate('unlimited'), null);
  for (const bad of ['fast', '10', '-5MB/s', '']) assert.throws(() => parseRate(bad), { code: 'config.invalid' }, bad);
  const windows = parseSchedule('20:00-06:00=unlimited, 12:00-13:00=100MB/s');
  assert.deepEqual(windows, [
    { from: '20:00', to: '06:00', bytesPerSecond: null },
    { from: '12:00', to: '13:00', bytesPerSecond: 100_000_000 },
  ]);
  const limit = { bytesPerSecond: 10_000_000, schedule: windows };
  const at = (h: number, m = 0) => new Date(2026, 0, 1, h, m);
  assert.equal(effectiveRate(limit, at(23)), null, 'in the night window, past midnight');
  assert.equal(effectiveRate(limit, at(5, 59)), null);
  assert.equal(effectiveRate(limit, at(6)), 10_000_000, 'the window ends at 06:00');
  assert.equal(effectiveRate(limit, at(12, 30)), 100_000_000);
  for (const bad of ['20:00-06:00', '25:00-06:00=1MB/s', '10:00-10:00=1MB/s', '10:00-11:00=slow']) assert.throws(() => parseSchedule(bad), { code: 'config.invalid' }, bad);
});

test('a bandwidth limit holds over a window of bytes, and `hoist limit` from another process changes it mid-upload', { timeout: 5 * 60_000 }, async () => {
  const file = await writeRandomFile(path.join(dir, 'A001C001.mov'), 48 * MiB);
  proxy.reset();
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, partSize: 5 * MiB, concurrency: 4, singlePutThreshold: 0 });
  const dbPath = testDbPath(dir);
  try {
    const FIRST = 4_000_000;
    engine.pace.setBandwidthLimit({ destinationId: null, bytesPerSecond: FIRST });
    const [job] = await engine.enqueue([file], { destination: dest, key: 'paced/A001C001.mov' });
    engine.start();
    await until('the upload under way', () => proxy.bytesForwarded() >= 2 * MiB);
    const first = await rateOver(4000);
    // Generous: the bucket's burst and socket buffers allow a little over; a faster limit would show as far more.
    assert.ok(first <= FIRST * 1.5, `at most about ${FIRST / 1e6} MB/s went through the proxy: ${(first / 1e6).toFixed(2)} MB/s`);

    // Another process lowers the destination's limit while the upload runs; it is kept in the database.
    const SECOND = 1_000_000;
    const set = await hoist(['--db', dbPath, 'limit', '1MB/s', '--destination', String(dest.id)]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /1 MB\/s/);
    await sleep(2000); // the runner reads settings changed elsewhere once a second
    const second = await rateOver(4000);
    assert.ok(second <= SECOND * 1.5, `the lowered limit holds: ${(second / 1e6).toFixed(2)} MB/s`);
    assert.ok(engine.getJob(job!.id)!.state === 'running', `the upload went on, slower, rather than stopping: ${engine.getJob(job!.id)!.state}`);

    // Lifted again (engine API this time): the upload finishes whole.
    engine.pace.setBandwidthLimit({ destinationId: dest.id, bytesPerSecond: null });
    engine.pace.setBandwidthLimit({ destinationId: null, bytesPerSecond: null });
    assert.deepEqual(engine.pace.bandwidthLimits(), [], 'no limit is left once both are lifted');
    const [done] = await engine.waitFor([job!.id]);
    assert.equal(done!.state, 'done', JSON.stringify(engine.events(job!.id)));
    assert.equal(await sha256OfObject(client, bucket, 'paced/A001C001.mov'), await sha256OfFile(file));
    assert.deepEqual(await listUploads(client, bucket), []);
    console.log(`pacing: ${(first / 1e6).toFixed(2)} MB/s under a ${FIRST / 1e6} MB/s limit, ${(second / 1e6).toFixed(2)} MB/s after \`hoist limit 1MB/s\``);
  } finally {
    await engine.close();
  }
});

test('automatic concurrency rises while throughput rises, falls back on SlowDown, and stays within its bounds', { timeout: 5 * 60_000 }, async () => {
  const file = await writeRandomFile(path.join(dir, 'A002C001.mov'), 160 * MiB);
  proxy.reset();
  // Each connection is its own 2 MiB/s link: more parts in flight, more throughput (up to the bounds).
  proxy.setBandwidth(2 * MiB, { perRequest: true });
  const BOUNDS = { min: 1, max: 6 };
  const { engine, dest } = testEngine(
    path.join(dir, 'tuned'),
    { endpoint: proxy.url, bucket, partSize: 5 * MiB, concurrency: 1, singlePutThreshold: 0 },
    { tuning: { options: { windowMs: 2000, holdWindows: 2, slowDownHoldWindows: 4 } } },
  );
  try {
    engine.pace.setConcurrencyBounds(dest.id, BOUNDS);
    const [job] = await engine.enqueue([file], { destination: dest, key: 'tuned/A002C001.mov' });
    engine.start();
    const decisions = () => engine.pace.concurrencyOf(dest.id).decisions;
    await until('concurrency to climb to 4 or more', () => (engine.pace.concurrencyOf(dest.id).limit ?? 0) >= 4, 120_000);
    // Now the server asks Hoist to slow down.
    proxy.addFault({ operation: 'UploadPart', times: 2, action: { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
    await until('a SlowDown decision', () => decisions().some((d) => d.reason === 'SlowDown'), 120_000);
    proxy.clearFaults();
    proxy.setBandwidth(null);
    const [done] = await engine.waitFor([job!.id]);
    assert.equal(done!.state, 'done', JSON.stringify(engine.events(job!.id)));
    assert.equal(await sha256OfObject(client, bucket, 'tuned/A002C001.mov'), await sha256OfFile(file));

    const all = decisions();
    const trail = all.map((d) => `${d.from}->${d.to} ${d.reason}${d.measuredBytesPerSecond ? ` @${(d.measuredBytesPerSecond / MiB).toFixed(2)}MiB/s` : ''}`).join(', ');
    console.log(`tuning: ${trail}; settled at ${engine.pace.concurrencyOf(dest.id).limit}`);
    for (const d of all) assert.ok(d.to >= BOUNDS.min && d.to <= BOUNDS.max, `every decision within ${BOUNDS.min}..${BOUNDS.max}: ${trail}`);
    const climbs = all.filter((d) => (d.reason === 'rising' || d.reason === 'probe') && d.to > d.from);
    assert.ok(climbs.length >= 3, `concurrency was raised step by step: ${trail}`);
    // Each 'rising' decision was taken on a window faster than the one before the raise that led to it.
    for (let i = 1; i < all.length; i++) {
      const d = all[i]!;
      const previous = all.slice(0, i).reverse().find((p) => p.measuredBytesPerSecond !== null);
      if (d.reason === 'rising' && previous) assert.ok(d.measuredBytesPerSecond! > previous.measuredBytesPerSecond!, `a rise followed a faster window: ${trail}`);
    }
    const slowDown = all.find((d) => d.reason === 'SlowDown')!;
    assert.ok(slowDown.to < slowDown.from, `SlowDown lowered concurrency: ${trail}`);
    const fault = all.indexOf(slowDown);
    assert.ok(all.slice(0, fault).some((d) => d.to >= 4), 'it had climbed before the server pushed back');
  } finally {
    proxy.clearFaults();
    proxy.setBandwidth(null);
    await engine.close();
  }
});
