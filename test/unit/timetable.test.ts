// The weekly bandwidth timetable (issue 14): the CLI's --schedule syntax with days of the week, still
// reading the daily windows of before, and the window in force at a given weekday and time; the next
// change the status line names; the bucket counting the reservations a limit made wait. No server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { formatDays, nextRateChange, parseDays, rateAt, windowInForce } from '../../shared/timetable.js';
import { parseSchedule, windowText } from '../../src-main/engine/pacing/bandwidth.js';
import { TokenBucket, createBucketMemory } from '../../src-main/engine/pacing/token-bucket.js';
import { hoist } from '../support/hoist-cli.js';
import { tempDir } from '../support/s3.js';

/** 2026-01-05 is a Monday: day(0) Monday … day(6) Sunday, at h:m local time. */
const day = (offset: number, h: number, m = 0) => new Date(2026, 0, 5 + offset, h, m);
const MON = 0, FRI = 4, SAT = 5, SUN = 6;

test('the daily windows of before parse as they did: no days, every day', () => {
  assert.deepEqual(parseSchedule('20:00-06:00=unlimited, 12:00-13:00=100MB/s'), [
    { from: '20:00', to: '06:00', bytesPerSecond: null },
    { from: '12:00', to: '13:00', bytesPerSecond: 100_000_000 },
  ]);
  assert.deepEqual(parseSchedule(''), []);
});

test('days of the week: ranges, lists with commas, names, weekdays and weekends, the whole day', () => {
  assert.deepEqual(parseSchedule('Mon-Fri 09:00-18:00=50MB/s'), [{ from: '09:00', to: '18:00', bytesPerSecond: 50_000_000, days: ['mon', 'tue', 'wed', 'thu', 'fri'] }]);
  // Commas list days as well as windows: a piece without "=" belongs to the window after it.
  assert.deepEqual(parseSchedule('Sat,Sun 10:00-12:00=1MB/s,20:00-06:00=unlimited'), [
    { from: '10:00', to: '12:00', bytesPerSecond: 1_000_000, days: ['sat', 'sun'] },
    { from: '20:00', to: '06:00', bytesPerSecond: null },
  ]);
  assert.deepEqual(parseSchedule('weekends=unlimited'), [{ from: '00:00', to: '24:00', bytesPerSecond: null, days: ['sat', 'sun'] }]);
  assert.deepEqual(parseSchedule('Friday 20:00-06:00=unlimited')[0]!.days, ['fri']);
  // A range past Sunday wraps; every day named is the same as none.
  assert.deepEqual(parseDays('Fri-Mon'), ['mon', 'fri', 'sat', 'sun']);
  assert.equal(parseSchedule('Mon-Sun 01:00-02:00=1MB/s')[0]!.days, undefined);
  assert.equal(parseDays('Funday'), null);
  for (const bad of ['Funday 10:00-11:00=1MB/s', 'Mon-Fri', 'Mon-Fri 10:00-10:00=1MB/s', 'Mon 10:00-11:00=slow', 'Mon 25:00-26:00=1MB/s', 'Mon-Tue-Wed 10:00-11:00=1MB/s']) {
    assert.throws(() => parseSchedule(bad), { code: 'config.invalid' }, bad);
  }
  assert.throws(() => parseSchedule('Mon-Fri 10:00-10:00=1MB/s'), /empty/);
  assert.throws(() => parseSchedule('Funday 10:00-11:00=1MB/s'), /not a list of days/);
});

test('they print back as written', () => {
  const windows = parseSchedule('Mon-Fri 09:00-18:00=50MB/s,Sat,Sun=unlimited,20:00-06:00=unlimited,Mon,Wed 01:00-02:00=2MB/s');
  assert.deepEqual(windows.map(windowText), ['Mon-Fri 09:00-18:00 50 MB/s', 'Sat, Sun unlimited', '20:00-06:00 unlimited', 'Mon, Wed 01:00-02:00 2 MB/s']);
  assert.equal(formatDays(['mon', 'wed', 'thu', 'fri', 'sun']), 'Mon, Wed-Fri, Sun');
});

test('the window in force at a weekday and time; the first one holding wins; past midnight belongs to the day it began', () => {
  const limit = { bytesPerSecond: 10_000_000, schedule: parseSchedule('Mon-Fri 09:00-18:00=50MB/s,Fri 20:00-06:00=unlimited,Sat,Sun=2MB/s') };
  assert.equal(rateAt(limit, day(MON, 9)), 50_000_000, 'Monday 09:00: the working-day window begins');
  assert.equal(rateAt(limit, day(MON, 8, 59)), 10_000_000, 'before it: the base rate');
  assert.equal(rateAt(limit, day(FRI, 17, 59)), 50_000_000);
  assert.equal(rateAt(limit, day(FRI, 18)), 10_000_000, 'the window ends at 18:00');
  assert.equal(rateAt(limit, day(FRI, 21)), null, 'Friday night');
  assert.equal(rateAt(limit, day(SAT, 5, 30)), null, 'Friday night runs into Saturday morning, ahead of the weekend window');
  assert.equal(rateAt(limit, day(SAT, 6)), 2_000_000, 'then the weekend window');
  assert.equal(rateAt(limit, day(SUN, 23, 59)), 2_000_000);
  assert.equal(rateAt(limit, day(MON + 7, 5)), 10_000_000, 'Monday early: the Friday window does not hold after Sunday night');
  assert.equal(rateAt(limit, day(MON + 1, 5)), 10_000_000, 'nor on Tuesday morning');
  assert.equal(windowInForce(limit.schedule, day(MON, 12))?.days?.join(), 'mon,tue,wed,thu,fri');
  // A daily window (no days) holds every day, as before.
  const nightly = { bytesPerSecond: 5_000_000, schedule: parseSchedule('20:00-06:00=unlimited') };
  for (let d = 0; d < 7; d++) assert.equal(rateAt(nightly, day(d, 3)), null);
});

test('the next change of rate, for the status line\'s "until"', () => {
  const limit = { bytesPerSecond: null, schedule: parseSchedule('Mon-Fri 09:00-18:00=50MB/s') };
  assert.deepEqual(nextRateChange(limit, day(MON, 10)), day(MON, 18));
  assert.deepEqual(nextRateChange(limit, day(FRI, 19)), day(MON + 7, 9), 'after Friday: next Monday morning');
  // Two adjacent windows with the same rate are one stretch.
  const joined = { bytesPerSecond: null, schedule: parseSchedule('08:00-12:00=5MB/s,12:00-16:00=5MB/s') };
  assert.deepEqual(nextRateChange(joined, day(SAT, 9)), day(SAT, 16));
  assert.equal(nextRateChange({ bytesPerSecond: 5_000_000, schedule: [] }, day(MON, 1)), null);
});

test('a bucket counts the reservations it made wait: the status line\'s "holding back"', async () => {
  const bucket = new TokenBucket(createBucketMemory());
  bucket.setRate(1_000_000);
  assert.equal(bucket.waits, 0);
  // A changed rate starts empty; after a while idle it holds its burst (a quarter second's worth).
  await new Promise((r) => setTimeout(r, 300));
  bucket.reserve(100_000);
  assert.equal(bucket.waits, 0, 'within the burst nothing waits');
  bucket.reserve(1_000_000);
  assert.equal(bucket.waits, 1, 'past it, the sender waits');
  bucket.setRate(null);
  bucket.reserve(10_000_000);
  assert.equal(bucket.waits, 1, 'unlimited: nobody waits');
});

test('`hoist limit --schedule` takes days of the week, keeps them, and prints them back (and as JSON)', async () => {
  const db = path.join(tempDir('limit-weekly'), 'hoist.db');
  const set = await hoist(['--db', db, 'limit', '20MB/s', '--schedule', 'Mon-Fri 09:00-18:00=50MB/s,Sat,Sun=unlimited,20:00-06:00=unlimited']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /all uploads\s+20 MB\/s; schedule Mon-Fri 09:00-18:00 50 MB\/s, Sat, Sun unlimited, 20:00-06:00 unlimited; now /);
  const shown = await hoist(['--db', db, 'limit', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const [limit] = (JSON.parse(shown.stdout) as { limits: { schedule: unknown[]; changesAt: string | null }[] }).limits;
  assert.deepEqual(limit!.schedule, [
    { from: '09:00', to: '18:00', bytesPerSecond: 50_000_000, days: ['mon', 'tue', 'wed', 'thu', 'fri'] },
    { from: '00:00', to: '24:00', bytesPerSecond: null, days: ['sat', 'sun'] },
    { from: '20:00', to: '06:00', bytesPerSecond: null },
  ]);
  assert.ok(limit!.changesAt && Date.parse(limit!.changesAt) > Date.now(), 'when the rate in force changes next');
  const bad = await hoist(['--db', db, 'limit', '--schedule', 'Someday 09:00-18:00=1MB/s']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /"Someday" is not a list of days/);
});
