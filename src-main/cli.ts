// The `hoist` command: drives the engine from a terminal or a script.
import { Command, InvalidArgumentError, Option } from 'commander';
import { HoistError, describeError } from '../shared/errors.js';
import {
  AMAZON_S3_MAX_OBJECT_SIZE,
  COMPATIBLE_MAX_OBJECT_SIZE,
  DEFAULT_CONCURRENCY,
  DEFAULT_PART_SIZE,
  DEFAULT_SINGLE_PUT_THRESHOLD,
  MAX_CONCURRENCY,
  MAX_PARTS,
  MIN_PART_SIZE,
  MAX_PART_SIZE,
} from '../shared/limits.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type JobState } from '../shared/states.js';
import { JOB_STATES } from '../shared/states.js';
import type { Destination } from '../shared/types.js';
import { publicJob, jobLine, uploadLine, ProgressView } from './cli-output.js';
import { registerServeCommand } from './cli-serve.js';
import { registerFolderCommands } from './cli-folders.js';
import { registerPaceCommands, tuningSummary } from './cli-pace.js';
import { Engine, SETTLED_STATES, defaultDbPath } from './engine/engine.js';
import { resolveAwsSettings } from './engine/s3/connection.js';
import type { SchedulerOptions } from './engine/scheduler.js';
import type { JobRecord } from './engine/store/job-store.js';
import { parseSize } from './engine/upload/part-plan.js';

interface GlobalOpts {
  db?: string;
  endpoint?: string;
  region?: string;
  profile?: string;
  pathStyle?: boolean;
}

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function sizeArg(v: string): number {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function jobIdArg(v: string): number {
  return intArg(1, Number.MAX_SAFE_INTEGER)(v);
}

/** "7d", "12h", "30m", "45s" or plain seconds. */
export function parseAge(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected an age such as 7d, 12h, 30m or 45s');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[(m[2] ?? 's').toLowerCase() as 'd' | 'h' | 'm' | 's'];
  return Math.round(Number(m[1]) * unit);
}

/** Tunables for tests and unusual networks, read from the environment. */
function schedulerOptionsFromEnv(env = process.env): SchedulerOptions {
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  const retry: NonNullable<SchedulerOptions['retry']> = {};
  if (num('HOIST_RETRY_BASE_MS') !== undefined) retry.baseDelayMs = num('HOIST_RETRY_BASE_MS')!;
  if (num('HOIST_RETRY_MAX_MS') !== undefined) retry.maxDelayMs = num('HOIST_RETRY_MAX_MS')!;
  if (num('HOIST_PART_ATTEMPTS') !== undefined) retry.partAttempts = num('HOIST_PART_ATTEMPTS')!;
  if (num('HOIST_JOB_ATTEMPTS') !== undefined) retry.jobAttempts = num('HOIST_JOB_ATTEMPTS')!;
  return {
    retry,
    ...(num('HOIST_IDLE_TIMEOUT_MS') ? { idleTimeoutMs: num('HOIST_IDLE_TIMEOUT_MS')! } : {}),
    ...(num('HOIST_LIST_PAGE_SIZE') ? { listPageSize: num('HOIST_LIST_PAGE_SIZE')! } : {}),
  };
}

async function openEngine(g: GlobalOpts): Promise<Engine> {
  // AWS_CA_BUNDLE, or the profile's ca_bundle, as the AWS tools read them.
  const { caBundle } = await resolveAwsSettings({ profile: g.profile ?? null, endpoint: g.endpoint ?? null });
  const engine = new Engine({ dbPath: g.db ?? defaultDbPath(), scheduler: { ...schedulerOptionsFromEnv(), caBundle } });
  if (engine.movedAside) {
    process.stderr.write(`hoist: db.corrupt: ${describeError('db.corrupt')} The damaged file is at ${engine.movedAside}.\n`);
  }
  return engine;
}

/** Settings of the destination itself (they stay for later uploads to it). */
interface DestinationFlags {
  bucket: string;
  concurrency?: number;
  storageClass?: string;
  sse?: string;
  sseKmsKeyId?: string;
}

interface UploadFlags extends DestinationFlags {
  key?: string;
  prefix?: string;
  partSize?: number;
  checksum?: string;
  maxObjectSize?: number;
  maxParts?: number;
  singlePutThreshold?: number;
  json?: boolean;
}

/** The destination for --bucket on the resolved endpoint; the flags in DestinationFlags update it, the rest are per upload. */
async function destinationFor(engine: Engine, g: GlobalOpts, f: DestinationFlags): Promise<Destination> {
  const aws = await resolveAwsSettings({ profile: g.profile ?? null, region: g.region ?? null, endpoint: g.endpoint ?? null, ...(g.pathStyle ? { pathStyle: true } : {}) });
  const name = aws.endpoint ? `${f.bucket}@${new URL(aws.endpoint).host}` : f.bucket;
  const existing = engine.store.getDestinationByName(name);
  const isAmazon = !aws.endpoint || /\.amazonaws\.com(\.cn)?$/i.test(new URL(aws.endpoint).hostname);
  return engine.upsertDestination({
    name,
    endpoint: aws.endpoint,
    region: aws.region,
    bucket: f.bucket,
    prefix: existing?.prefix ?? '',
    pathStyle: aws.pathStyle,
    profile: aws.profile,
    storageClass: f.storageClass ?? existing?.storageClass ?? null,
    sse: f.sse ?? existing?.sse ?? null,
    sseKmsKeyId: f.sseKmsKeyId ?? existing?.sseKmsKeyId ?? null,
    partSize: existing?.partSize ?? DEFAULT_PART_SIZE,
    concurrency: f.concurrency ?? existing?.concurrency ?? DEFAULT_CONCURRENCY,
    singlePutThreshold: existing?.singlePutThreshold ?? DEFAULT_SINGLE_PUT_THRESHOLD,
    maxObjectSize: existing?.maxObjectSize ?? (isAmazon ? AMAZON_S3_MAX_OBJECT_SIZE : COMPATIBLE_MAX_OBJECT_SIZE),
    maxParts: existing?.maxParts ?? MAX_PARTS,
    checksumAlgorithm: existing?.checksumAlgorithm ?? null,
  });
}

/** Ctrl-C and SIGTERM stop traffic cleanly: running jobs go back to the queue and resume next time. */
function onInterrupt(engine: Engine, view?: ProgressView): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(EXIT_INTERRUPTED);
    stopping = true;
    view?.say(`hoist: ${signal}: pausing cleanly; \`hoist run\` resumes where this stopped.`);
    engine.close().finally(() => process.exit(EXIT_INTERRUPTED));
  };
  process.once('SIGINT', () => stop('interrupted'));
  process.once('SIGTERM', () => stop('terminated'));
}

/** Works the queue (or watches another process do it) until the given jobs settle; returns the exit status. */
async function workUntilSettled(engine: Engine, jobIds: number[] | 'all', json: boolean): Promise<number> {
  const view = new ProgressView(process.stderr);
  const started = engine.start();
  if (!started.ok) view.say(`hoist: the queue is being worked by Hoist pid ${started.pid} on ${started.host}; following its progress.`);
  onInterrupt(engine, view);
  const seen = new Map<number, JobState>();
  const report = (jobs: JobRecord[]) => {
    for (const j of jobs) {
      if (seen.get(j.id) === j.state) continue;
      seen.set(j.id, j.state);
      if (!json && (SETTLED_STATES.includes(j.state) || j.state === 'paused')) view.say(jobLine(j));
    }
  };
  const ids = () => (jobIds === 'all' ? engine.listJobs({ states: ['queued', 'running', 'completing'] }).map((j) => j.id).concat([...seen.keys()]) : jobIds);
  let finalJobs: JobRecord[];
  for (;;) {
    const current = [...new Set(ids())];
    const jobs = engine.listJobs({ ids: current });
    report(jobs);
    if (!json) view.update(jobs, engine.progress());
    if (jobs.every((j) => SETTLED_STATES.includes(j.state))) {
      finalJobs = jobs;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  view.end();
  if (!json && started.ok) for (const line of tuningSummary(engine)) process.stderr.write(line + '\n');
  await engine.close();
  if (json) process.stdout.write(JSON.stringify({ jobs: finalJobs.map(publicJob) }, null, 2) + '\n');
  return finalJobs.every((j) => j.state === 'done') ? 0 : EXIT_FAILED;
}

export function buildProgram(): Command {
  const program = new Command('hoist')
    .description('Moves large media files into Amazon S3 or any S3-compatible store, with resumable multipart uploads.')
    .option('--db <path>', 'job database (default: $HOIST_DB or the application-data folder)')
    .option('--endpoint <url>', 'S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile)')
    .option('--region <region>', 'region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)')
    .option('--profile <name>', 'AWS profile for credentials and settings (default: AWS_PROFILE)')
    .option('--path-style', 'path-style addressing (http://host/bucket/key), as most S3-compatible servers want')
    .showHelpAfterError()
    .exitOverride();
  const g = (): GlobalOpts => program.opts<GlobalOpts>();

  program
    .command('upload')
    .description('queue files and upload them; exits 0 only if all succeeded')
    .argument('<files...>', 'files to upload')
    .requiredOption('--bucket <bucket>', 'destination bucket')
    .option('--key <key>', 'object key (one file only)')
    .option('--prefix <prefix>', 'key prefix; each file goes to PREFIX/NAME')
    .option('--part-size <size>', `part size (default 64MiB; ${MIN_PART_SIZE / 2 ** 20}MiB..${MAX_PART_SIZE / 2 ** 30}GiB; raised automatically for very large files)`, sizeArg)
    .option('--concurrency <n>', `parts in flight for this destination (default ${DEFAULT_CONCURRENCY})`, intArg(1, MAX_CONCURRENCY))
    .addOption(new Option('--checksum <algorithm>', 'additional checksum per part, besides Content-MD5').choices([...CHECKSUM_ALGORITHMS, 'none']))
    .option('--storage-class <class>', 'storage class, e.g. STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR')
    .addOption(new Option('--sse <mode>', 'server-side encryption').choices(['AES256', 'aws:kms']))
    .option('--sse-kms-key-id <id>', 'KMS key for --sse aws:kms')
    .option('--single-put-threshold <size>', 'files below this go as one PutObject (default 100MiB)', sizeArg)
    .option('--max-object-size <size>', 'largest object the destination accepts (default 48.8TiB on Amazon S3, 5TiB elsewhere)', sizeArg)
    .option('--max-parts <n>', 'parts one upload may have, for servers configured below 10,000', intArg(1, MAX_PARTS))
    .option('--json', 'print the jobs as JSON when they end')
    .action(async (files: string[], o: UploadFlags) => {
      if (o.key !== undefined && o.prefix !== undefined) throw new HoistError('config.invalid', { message: 'Use --key or --prefix, not both.' });
      const engine = await openEngine(g());
      try {
        const dest = await destinationFor(engine, g(), o);
        const jobs = await engine.enqueue(files, {
          destination: dest,
          ...(o.key !== undefined ? { key: o.key } : {}),
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          ...(o.partSize !== undefined ? { partSize: o.partSize } : {}),
          ...(o.singlePutThreshold !== undefined ? { singlePutThreshold: o.singlePutThreshold } : {}),
          ...(o.maxObjectSize !== undefined ? { maxObjectSize: o.maxObjectSize } : {}),
          ...(o.maxParts !== undefined ? { maxParts: o.maxParts } : {}),
          ...(o.checksum !== undefined ? { checksum: o.checksum === 'none' ? null : (o.checksum as ChecksumAlgorithm) } : {}),
        });
        if (!o.json) for (const j of jobs) process.stderr.write(`queued ${jobLine(j).trimStart()}\n`);
        process.exitCode = await workUntilSettled(engine, jobs.map((j) => j.id), Boolean(o.json));
      } catch (err) {
        await engine.close().catch(() => undefined);
        throw err;
      }
    });

  program
    .command('run')
    .description('work the queue until it is empty (resumes what a crash or Ctrl-C interrupted)')
    .option('--json', 'print the jobs as JSON when they end')
    .action(async (o: { json?: boolean }) => {
      const engine = await openEngine(g());
      process.exitCode = await workUntilSettled(engine, 'all', Boolean(o.json));
    });

  program
    .command('jobs')
    .description('list jobs')
    .option('--json', 'machine-readable output (stable; see docs/cli.md)')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices([...JOB_STATES]))
    .action(async (o: { json?: boolean; state?: JobState }) => {
      const engine = await openEngine(g());
      try {
        const jobs = engine.listJobs(o.state ? { states: [o.state] } : {});
        if (o.json) process.stdout.write(JSON.stringify({ jobs: jobs.map(publicJob) }, null, 2) + '\n');
        else if (jobs.length === 0) process.stdout.write('no jobs\n');
        else for (const j of jobs) process.stdout.write(jobLine(j) + '\n');
      } finally {
        void engine.close();
      }
    });

  program
    .command('job')
    .description('one job with its parts and history')
    .argument('<id>', 'job id', jobIdArg)
    .option('--json', 'machine-readable output')
    .action(async (id: number, o: { json?: boolean }) => {
      const engine = await openEngine(g());
      try {
        const job = engine.getJob(id);
        if (!job) throw new HoistError('config.invalid', { message: `There is no job ${id}.` });
        const parts = engine.parts(id).map(({ jobId: _j, availableAt: _a, attempts: _t, ...p }) => p);
        const history = engine.events(id);
        if (o.json) {
          process.stdout.write(JSON.stringify({ job: publicJob(job), parts, history }, null, 2) + '\n');
          return;
        }
        process.stdout.write(jobLine(job) + '\n');
        for (const e of history) process.stdout.write(`  ${e.at}  ${e.kind.padEnd(16)} ${e.message}\n`);
      } finally {
        void engine.close();
      }
    });

  const control = (name: string, description: string, act: (e: Engine, id: number | 'all') => Promise<number> | number) =>
    program
      .command(name)
      .description(description)
      .argument('[id]', 'job id', jobIdArg)
      .option('--all', 'every job')
      .action(async (id: number | undefined, o: { all?: boolean }) => {
        if ((id === undefined) === !o.all) throw new HoistError('config.invalid', { message: `Give a job id or --all to ${name}.` });
        const engine = await openEngine(g());
        try {
          const n = await act(engine, o.all ? 'all' : id!);
          process.stderr.write(`${name}: ${n} job(s)\n`);
          if (n === 0 && !o.all) process.exitCode = EXIT_FAILED;
        } finally {
          await engine.close();
        }
      });

  control('pause', 'pause a job, or --all (finished parts are kept; traffic stops within a second)', (e, id) => (id === 'all' ? e.pauseAll() : Number(e.pause(id))));
  control('resume', 'resume a paused job, or --all', (e, id) => (id === 'all' ? e.resumeAll() : Number(e.resume(id))));
  program
    .command('cancel')
    .description('cancel a job and abort its multipart upload on the server')
    .argument('<id>', 'job id', jobIdArg)
    .action(async (id: number) => {
      const engine = await openEngine(g());
      try {
        const ok = await engine.cancel(id);
        process.stderr.write(ok ? `cancelled job ${id}\n` : `job ${id} was already ${engine.getJob(id)?.state}\n`);
        if (!ok) process.exitCode = EXIT_FAILED;
      } finally {
        await engine.close();
      }
    });
  program
    .command('retry')
    .description('queue a failed job again (its finished parts are kept)')
    .argument('<id>', 'job id', jobIdArg)
    .action(async (id: number) => {
      const engine = await openEngine(g());
      try {
        engine.retry(id);
        process.stderr.write(`job ${id} queued again; \`hoist run\` works the queue\n`);
      } finally {
        await engine.close();
      }
    });

  const uploads = program.command('uploads').description('multipart uploads in progress on a bucket');
  uploads
    .command('list')
    .description('every in-progress multipart upload (all pages), marked as a job of ours or an orphan')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--prefix <prefix>', 'only keys under this prefix', '')
    .option('--page-size <n>', 'uploads per ListMultipartUploads page', intArg(1, 1000))
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; prefix: string; pageSize?: number; json?: boolean }) => {
      const engine = await openEngine(g());
      try {
        const list = await engine.listUploads(await destinationFor(engine, g(), o), o.prefix, o.pageSize);
        if (o.json) process.stdout.write(JSON.stringify({ uploads: list }, null, 2) + '\n');
        else if (list.length === 0) process.stdout.write('no multipart uploads in progress\n');
        else for (const u of list) process.stdout.write(uploadLine(u) + '\n');
      } finally {
        await engine.close();
      }
    });
  uploads
    .command('parts')
    .description("the parts the server holds for one upload (all pages)")
    .requiredOption('--bucket <bucket>', 'bucket')
    .requiredOption('--key <key>', 'object key')
    .requiredOption('--upload-id <id>', 'upload id')
    .option('--page-size <n>', 'parts per ListParts page', intArg(1, 1000))
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; key: string; uploadId: string; pageSize?: number; json?: boolean }) => {
      const engine = await openEngine(g());
      try {
        const parts = await engine.listRemoteParts(await destinationFor(engine, g(), o), o.key, o.uploadId, o.pageSize);
        if (o.json) process.stdout.write(JSON.stringify({ parts }, null, 2) + '\n');
        else for (const p of parts) process.stdout.write(`${String(p.partNumber).padStart(5)}  ${String(p.size).padStart(12)}  ${p.etag}  ${p.lastModified ?? ''}\n`);
      } finally {
        await engine.close();
      }
    });
  uploads
    .command('abort')
    .description('abort one multipart upload (a job that owns it is cancelled)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .requiredOption('--key <key>', 'object key')
    .requiredOption('--upload-id <id>', 'upload id')
    .action(async (o: { bucket: string; key: string; uploadId: string }) => {
      const engine = await openEngine(g());
      try {
        await engine.abortUpload(await destinationFor(engine, g(), o), o.key, o.uploadId);
        process.stderr.write(`aborted ${o.uploadId}\n`);
      } finally {
        await engine.close();
      }
    });
  uploads
    .command('abort-orphans')
    .description('abort every upload that no live Hoist job owns')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--prefix <prefix>', 'only keys under this prefix', '')
    .option('--older-than <age>', 'only uploads begun longer ago than this (7d, 12h, 30m, 45s)', parseAge)
    .option('--page-size <n>', 'uploads per ListMultipartUploads page', intArg(1, 1000))
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; prefix: string; olderThan?: number; pageSize?: number; json?: boolean }) => {
      const engine = await openEngine(g());
      try {
        const r = await engine.abortOrphans(await destinationFor(engine, g(), o), {
          prefix: o.prefix,
          ...(o.olderThan !== undefined ? { olderThanMs: o.olderThan } : {}),
          ...(o.pageSize ? { pageSize: o.pageSize } : {}),
        });
        if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else process.stderr.write(`aborted ${r.aborted.length} orphan upload(s); kept ${r.kept.length}\n`);
      } finally {
        await engine.close();
      }
    });

  registerServeCommand(program, () => openEngine(g()));
  registerPaceCommands(program, { openEngine: () => openEngine(g()) });
  registerFolderCommands(program, { openEngine: () => openEngine(g()), destinationFor: (engine, flags) => destinationFor(engine, g(), flags) });

  return program;
}

/** Runs the command line; every failure becomes `hoist: CODE: message` and a non-zero status. */
export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : EXIT_USAGE;
      return;
    }
    if (err instanceof HoistError) {
      const { code, operation, detail } = err.info;
      process.stderr.write(`hoist: ${code}${operation ? ` (${operation})` : ''}: ${err.message}${detail ? `\n  server said: ${detail}` : ''}\n`);
      process.exitCode = code === 'config.invalid' ? EXIT_USAGE : EXIT_FAILED;
      return;
    }
    process.stderr.write(`hoist: internal.unexpected: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT_FAILED;
  }
}
