// The parts of the `hoist` command that need no S3 server: flag parsing (sizes, durations, ages,
// rates, …), the exit statuses and error lines, the output lines, and the log file helpers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { HoistError } from '../../shared/errors.js';
import { MAX_CONCURRENCY, MiB } from '../../shared/limits.js';
import type { MhlBatch, RemoteUpload } from '../../shared/types.js';
import { collect, concurrencyArg, formatAge, hashListArg, intArg, jobIdArg, nameArg, parseAfter, parseAge, parseDuration, parseS3Url, portArg, sizeArg } from '../../src-main/cli/args.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, failureOf } from '../../src-main/cli/exit-codes.js';
import { FileFollower, lastLines } from '../../src-main/cli/logs.js';
import { buildProgram } from '../../src-main/cli/main.js';
import { ProgressView, batchLine, formatDuration, formatRate, jobLine, owedAbortText, totals, uploadLine } from '../../src-main/cli/output.js';
import { parseRate } from '../../src-main/engine/pacing/bandwidth.js';
import { LOG_FILE_NAME, logFilePath } from '../../src-main/engine/log-file.js';
import type { JobRecord, RemoteAbort } from '../../src-main/engine/store/job-store.js';

const usage = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (err: Error) => err instanceof InvalidArgumentError && pattern.test(err.message));

test('sizes: binary units, commander usage errors for the rest', () => {
  assert.equal(sizeArg('64MiB'), 64 * MiB);
  assert.equal(sizeArg('5GiB'), 5 * 1024 * MiB);
  usage(() => sizeArg('lots'), /./);
});

test('durations, ages and whole numbers', () => {
  assert.equal(parseDuration('3s'), 3000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('4'), 4000, 'plain seconds');
  usage(() => parseDuration('soon'), /expected a duration such as 3s/);

  assert.equal(parseAge('7d'), 7 * 86_400_000);
  assert.equal(parseAge('12h'), 12 * 3_600_000);
  assert.equal(parseAge('30m'), 30 * 60_000);
  assert.equal(parseAge('45'), 45_000);
  usage(() => parseAge('a week'), /expected an age such as 7d/);
  assert.deepEqual([24 * 3_600_000, 7 * 86_400_000, 90_000, 0].map(formatAge), ['24h', '7d', '90s', '0s'], 'ages print as --older-than takes them');

  assert.equal(intArg(1, 10)('7'), 7);
  usage(() => intArg(1, 10)('11'), /^expected a whole number from 1 to 10$/);
  usage(() => intArg(1, 10)('1.5'), /whole number/);
  assert.equal(jobIdArg('42'), 42);
  usage(() => jobIdArg('0'), /whole number/);
  assert.equal(concurrencyArg(String(MAX_CONCURRENCY)), MAX_CONCURRENCY);
  usage(() => concurrencyArg(String(MAX_CONCURRENCY + 1)), new RegExp(`from 1 to ${MAX_CONCURRENCY}`));
  assert.equal(portArg('0'), 0);
  usage(() => portArg('65536'), /port from 0 to 65535/);
});

test('rates: decimal bytes, binary bytes, bits, unlimited; too low or unreadable is a usage error', () => {
  assert.equal(parseRate('50MB/s'), 50_000_000);
  assert.equal(parseRate('40MiB/s'), 40 * MiB);
  assert.equal(parseRate('400Mbit/s'), 50_000_000);
  assert.equal(parseRate('400Mbps'), 50_000_000);
  assert.equal(parseRate('unlimited'), null);
  for (const bad of ['fast', '10B/s']) {
    assert.throws(() => parseRate(bad), (err: HoistError) => err.code === 'config.invalid');
  }
});

test('names, hash lists, --after, s3:// URLs and repeatable flags', () => {
  assert.equal(nameArg('  archive '), 'archive');
  usage(() => nameArg('   '), /1 to 200 characters/);
  assert.deepEqual(hashListArg('xxh64,md5'), ['xxh64', 'md5']);
  assert.deepEqual(hashListArg('none'), []);
  usage(() => hashListArg('crc7'), /./);
  assert.deepEqual(parseAfter('keep'), { after: 'keep', moveTo: null });
  assert.deepEqual(parseAfter('move:done'), { after: 'move', moveTo: path.resolve('done') });
  usage(() => parseAfter('shred'), /keep, delete or move:DIR/);
  assert.deepEqual(parseS3Url('s3://bucket/a/b.mov'), { bucket: 'bucket', key: 'a/b.mov' });
  usage(() => parseS3Url('s3://bucket'), /not of the form s3:\/\/BUCKET\/KEY/);
  assert.deepEqual(collect('b', ['a']), ['a', 'b']);
});

test('exit statuses: usage 2, failure 1, help 0, Ctrl-C 130; errors as `hoist: CODE (Operation): message`', () => {
  assert.deepEqual([EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED], [0, 1, 2, 130]);
  assert.deepEqual(failureOf({ code: 'commander.helpDisplayed' }), { status: 0, message: null });
  assert.deepEqual(failureOf({ code: 'commander.unknownOption' }), { status: 2, message: null });
  assert.deepEqual(failureOf(new HoistError('config.invalid', { message: 'Use --key or --prefix, not both.' })), { status: 2, message: 'hoist: config.invalid: Use --key or --prefix, not both.\n' });
  const denied = failureOf(new HoistError('s3.access-denied', { operation: 'PutObject', detail: 'AccessDenied: no' }));
  assert.equal(denied.status, 1);
  assert.equal(denied.message, 'hoist: s3.access-denied (PutObject): Permission denied for PutObject. Ask for that permission on the bucket, or use other credentials.\n  server said: AccessDenied: no\n');
  const odd = failureOf(new TypeError('boom'));
  assert.equal(odd.status, 1);
  assert.match(odd.message!, /^hoist: internal\.unexpected: TypeError: boom/);
});

test('a bad flag is refused by the parser, before any engine is opened', async () => {
  const program = buildProgram();
  let said = '';
  program.configureOutput({ writeErr: (s) => (said += s), writeOut: (s) => (said += s) });
  for (const sub of program.commands) sub.configureOutput({ writeErr: (s) => (said += s), writeOut: (s) => (said += s) });
  const err = await program.parseAsync(['node', 'hoist', '--db', path.join(os.tmpdir(), 'never-opened.db'), 'upload', 'x.mov', '--bucket', 'b', '--part-size', 'huge']).catch((e: unknown) => e);
  assert.equal(failureOf(err).status, EXIT_USAGE);
  assert.match(said, /--part-size/);
  assert.equal(fs.existsSync(path.join(os.tmpdir(), 'never-opened.db')), false);
});

test('hoist --help names the log file beside the job database', async () => {
  const program = buildProgram();
  let out = '';
  program.configureOutput({ writeOut: (s) => (out += s) });
  const db = path.join(os.tmpdir(), 'some', 'jobs.db');
  const err = await program.parseAsync(['node', 'hoist', '--db', db, '--help']).catch((e: unknown) => e);
  assert.equal(failureOf(err).status, EXIT_OK);
  assert.ok(out.includes(`Log file: ${path.join(os.tmpdir(), 'some', LOG_FILE_NAME)}`), out);
  assert.match(out, /\n {2}logs \[options\] +print the log file's path/);
});

const job = (over: Partial<JobRecord>): JobRecord =>
  ({ id: 7, state: 'running', size: 200 * MiB, bytesDone: 50 * MiB, partsDone: 1, partCount: 4, bucket: 'b', key: 'a/clip.mov', destination: 'b', priority: 'normal', error: null, ...over }) as JobRecord;

test('job, batch, upload and owed-abort lines', () => {
  assert.equal(jobLine(job({})), '   7  running     25.0%    200 MiB  1/4 parts  s3://b/a/clip.mov  [b]');
  assert.match(jobLine(job({ state: 'failed', priority: 'high', error: { code: 'net.reset', message: 'reset', operation: 'UploadPart' } })), /failed .*\[b\] {2}high priority {2}net\.reset \(UploadPart\): reset$/);
  assert.match(jobLine(job({ state: 'done', size: 0, bytesDone: 0 })), /100\.0%/);
  const batch = { id: 3, root: '/cards/A002', bucket: 'b', keyPrefix: 'day1/', jobs: 2, state: 'written', generation: 1, manifestKey: 'day1/ascmhl/0001.mhl', error: null } as unknown as MhlBatch;
  assert.equal(batchLine(batch), 'batch 3  /cards/A002  (2 file(s))  generation 0001 written to s3://b/day1/ascmhl/0001.mhl');
  assert.match(batchLine({ ...batch, state: 'sealed' }), /sealed: generation owed to s3:\/\/b\/day1\/ascmhl\/$/);
  const upload: RemoteUpload = { bucket: 'b', key: 'k', uploadId: 'U1', initiated: null, storageClass: null, jobId: null };
  assert.equal(uploadLine(upload), 'orphan    -  s3://b/k  U1');
  const owed: RemoteAbort = { id: 1, destinationId: 1, bucket: 'b', key: 'k', uploadId: 'U1', jobId: 7, reason: 'cancel', attempts: 2, lastError: 's3.access-denied (AbortMultipartUpload): no' };
  assert.match(owedAbortText(owed), /^hoist: the multipart upload U1 \(s3:\/\/b\/k, job 7, cancel\) is not aborted yet: s3\.access-denied/);
});

test('rates, durations and progress totals', () => {
  assert.equal(formatRate(12_340_000), '12.3 MB/s');
  assert.equal(formatDuration(null), '--');
  assert.equal(formatDuration(59), '59s');
  assert.equal(formatDuration(61), '1m01s');
  assert.equal(formatDuration(3661), '1h01m');
  const jobs = [job({ id: 1 }), job({ id: 2, state: 'done', bytesDone: 0 })];
  assert.deepEqual(totals(jobs, [{ jobId: 1, bytesSent: 60 * MiB, rate: 1e6 } as never]), { sent: 260 * MiB, size: 400 * MiB, rate: 1e6, done: 1 });

  let written = '';
  const out = { isTTY: false, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
  const view = new ProgressView(out, 0);
  view.update(jobs, []);
  view.say('a line');
  assert.match(written, /^progress {2}62\.5% {2}250 MiB of 400 MiB {2}0\.0 MB\/s {2}ETA -- {2}1\/2 done\na line\n$/);
});

test('the log file sits beside the job database; --follow reads what is appended, across a rotation', () => {
  assert.equal(logFilePath('/data/hoist/hoist.db'), path.join('/data/hoist', 'hoist.log'));
  assert.equal(lastLines('a\nb\nc\n', 2, true), 'b\nc\n');
  assert.equal(lastLines('a\nb\nc', 2, true), 'b\nc');
  assert.equal(lastLines('tial\nb\nc\n', 5, false), 'b\nc\n', 'a partial first line is left out');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-logs-'));
  try {
    const file = path.join(dir, LOG_FILE_NAME);
    const follower = new FileFollower(file);
    assert.equal(follower.startAtEnd(), '', 'no file yet');
    fs.writeFileSync(file, 'one\n');
    assert.equal(follower.next(), 'one\n', 'a file that appears is read from its start');
    fs.appendFileSync(file, 'two\n');
    assert.equal(follower.next(), 'two\n');
    assert.equal(follower.next(), '');
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, 'three\n');
    assert.equal(follower.next(), 'three\n', 'after a rotation the new file is read from its start');
    assert.equal(new FileFollower(file).startAtEnd(1), 'three\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
