// The `hoist` command: drives the engine from a terminal or a script.
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
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
import { CHECKSUM_ALGORITHMS, FILE_HASH_ALGORITHMS, PRIORITIES, type ChecksumAlgorithm, type FileHashAlgorithm, type JobState, type Priority } from '../shared/states.js';
import { JOB_STATES } from '../shared/states.js';
import type { Destination, DestinationInput } from '../shared/types.js';
import { publicJob, jobLine, uploadLine, batchLine, ProgressView } from './cli-output.js';
import { publicBatchOf } from './engine/api.js';
import { hashListArg, sizeArg } from './cli-args.js';
import { registerServeCommand } from './cli-serve.js';
import { registerFolderCommands } from './cli-folders.js';
import { namedDestination, registerDestinationCommands, type DestinationFlags } from './cli-destinations.js';
import { registerPaceCommands, tuningSummary } from './cli-pace.js';
import { Engine, SETTLED_STATES, defaultDbPath } from './engine/engine.js';
import { adoptionSummary, rebuildSummary } from './engine/rebuild-summary.js';
import { fromErrorInfo } from './engine/s3/errors.js';
import { profileExists, resolveAwsSettings, type AwsSettings } from './engine/s3/connection.js';
import type { SchedulerOptions, StorageNotice } from './engine/scheduler.js';
import type { JobRecord, RemoteAbort } from './engine/store/job-store.js';

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
  engine.on('storage', (s) => process.stderr.write(storageLine(s)));
  if (engine.rebuilt) {
    process.stderr.write(`hoist: db.corrupt: ${describeError('db.corrupt')} The damaged file is at ${engine.rebuilt.movedAside}.\n`);
    // Before anything sends: an upload the bucket still holds for a watched file is taken up, not begun again.
    const adoptions = await engine.adoptAfterRebuild();
    for (const line of rebuildSummary(engine.rebuilt, adoptions)) process.stderr.write(`hoist: ${line}\n`);
  }
  return engine;
}

function storageLine(s: StorageNotice): string {
  if (s.full) return `hoist: db.full: ${describeError('db.full')} Uploads wait until there is room; parts the server acknowledges meanwhile are kept in memory.\n  ${s.error.detail ?? ''}\n`;
  return `hoist: the database has room again${s.recorded ? ` (${s.recorded} acknowledged part(s) recorded)` : ''}; uploads go on.\n`;
}

interface UploadFlags extends Omit<DestinationFlags, 'bucket'> {
  bucket?: string;
  to?: string;
  priority?: Priority;
  key?: string;
  hash?: FileHashAlgorithm[];
  mhl?: boolean;
  prefix?: string;
  partSize?: number;
  checksum?: string;
  maxObjectSize?: number;
  maxParts?: number;
  singlePutThreshold?: number;
  json?: boolean;
}

/** A destination's settings from the resolved AWS settings and the flags, keeping what the existing one of that name has. */
function destinationInput(name: string, aws: AwsSettings, f: DestinationFlags, existing?: Destination, prefix?: string): DestinationInput {
  const isAmazon = !aws.endpoint || /\.amazonaws\.com(\.cn)?$/i.test(new URL(aws.endpoint).hostname);
  return {
    name,
    endpoint: aws.endpoint,
    region: aws.region,
    bucket: f.bucket,
    prefix: prefix ?? existing?.prefix ?? '',
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
  };
}

function resolveGlobal(g: GlobalOpts): Promise<AwsSettings> {
  return resolveAwsSettings({ profile: g.profile ?? null, region: g.region ?? null, endpoint: g.endpoint ?? null, ...(g.pathStyle ? { pathStyle: true } : {}) });
}

/** The destination for --bucket on the resolved endpoint (named BUCKET or BUCKET@HOST); the flags in DestinationFlags update it, the rest are per upload. */
async function destinationFor(engine: Engine, g: GlobalOpts, f: DestinationFlags): Promise<Destination> {
  const aws = await resolveGlobal(g);
  const name = aws.endpoint ? `${f.bucket}@${new URL(aws.endpoint).host}` : f.bucket;
  return engine.upsertDestination(destinationInput(name, aws, f, engine.store.getDestinationByName(name)));
}

/** `hoist destinations add NAME`: a new named destination from the flags and the global --endpoint, --region, --profile, --path-style. */
async function addNamedDestination(engine: Engine, g: GlobalOpts, name: string, f: DestinationFlags & { prefix?: string }): Promise<Destination> {
  if (engine.store.getDestinationByName(name)) throw new HoistError('config.invalid', { message: `A destination named "${name}" already exists (see \`hoist destinations list\`); remove it first or choose another name.` });
  const aws = await resolveGlobal(g);
  if (g.profile && !(await profileExists(g.profile))) {
    throw new HoistError('config.invalid', { message: `There is no AWS profile "${g.profile}" in ~/.aws/config or ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE). Add it first, for example with \`aws configure --profile ${g.profile}\`.` });
  }
  return engine.saveDestination(destinationInput(name, aws, f, undefined, (f.prefix ?? '').replace(/^\/+/, '')));
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
  // The ASC MHL generations of these jobs' batches come last (the queue's runner writes them).
  const batchIds = [...new Set(finalJobs.map((j) => j.batchId).filter((id): id is number => id !== null))];
  const sealed = jobIds === 'all' ? engine.listBatches({ states: ['sealed'] }).map((b) => b.id) : [];
  const batches = await engine.waitForBatches([...new Set([...batchIds, ...sealed])]);
  if (!json) for (const b of batches) view.say(batchLine(b));
  view.end();
  // Invariant 4 before leaving: aborts still owed (a cancel, a restarted upload) are sent now.
  const owed = started.ok ? await engine.settleOwedAborts() : [];
  reportOwedAborts(owed);
  if (!json && started.ok) for (const line of tuningSummary(engine)) process.stderr.write(line + '\n');
  await engine.close();
  if (json) process.stdout.write(JSON.stringify({ jobs: finalJobs.map(publicJob), ...(batches.length ? { batches: batches.map(publicBatchOf) } : {}) }, null, 2) + '\n');
  const allDone = finalJobs.every((j) => j.state === 'done') && batches.every((b) => b.state === 'written');
  // `hoist run` works the whole queue, owed aborts included; `hoist upload` answers for its files.
  return allDone && (jobIds !== 'all' || owed.length === 0) ? 0 : EXIT_FAILED;
}

/** Uploads left on the server because their abort was refused or could not reach it: said plainly, with what the server said. */
function reportOwedAborts(owed: RemoteAbort[]): void {
  for (const a of owed) {
    process.stderr.write(
      `hoist: the multipart upload ${a.uploadId} (s3://${a.bucket}/${a.key}${a.jobId ? `, job ${a.jobId}` : ''}, ${a.reason}) is not aborted yet: ${a.lastError ?? 'not tried yet'}\n` +
        '  Its parts stay on the server (and are billed) until then; Hoist tries again whenever it works the queue (hoist run, hoist watch, the app).\n',
    );
  }
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
    .description('queue files and folders and upload them; exits 0 only if all succeeded')
    .argument('<paths...>', 'files, or folders (their files recursively, each to PREFIX/PATH-UNDER-THE-FOLDER)')
    .option('--bucket <bucket>', 'destination bucket (shorthand for the destination BUCKET, or BUCKET@HOST with an endpoint)')
    .option('--to <name>', 'a named destination (see `hoist destinations`), instead of --bucket')
    .addOption(new Option('--priority <level>', 'parts of higher-priority jobs go out first (default normal)').choices([...PRIORITIES]))
    .option('--key <key>', 'object key (one file only)')
    .option('--prefix <prefix>', 'key prefix; each file goes to PREFIX/NAME, a folder\'s files to PREFIX/PATH')
    .option('--hash <list>', `whole-file hashes to record, comma-separated: ${FILE_HASH_ALGORITHMS.join(', ')}, or none (default xxh64)`, hashListArg)
    .option('--mhl', "write an ASC MHL generation under each root's prefix once its files have arrived (a root is the folder given, or a card folder in it with its own ascmhl/)")
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
      if (o.key !== undefined && o.mhl) throw new HoistError('config.invalid', { message: 'An ASC MHL history lists files by their path under a root: use --prefix, not --key, with --mhl.' });
      if ((o.bucket === undefined) === (o.to === undefined)) throw new HoistError('config.invalid', { message: 'Say where the files go: --bucket BUCKET, or --to NAME for a named destination (not both).' });
      const destinationFlags = ['concurrency', 'storageClass', 'sse', 'sseKmsKeyId'] as const;
      if (o.to !== undefined && destinationFlags.some((f) => o[f] !== undefined)) {
        throw new HoistError('config.invalid', { message: `--concurrency, --storage-class and --sse belong to the destination; with --to they are set by \`hoist destinations add\`.` });
      }
      const engine = await openEngine(g());
      try {
        const dest = o.to !== undefined ? namedDestination(engine, o.to) : await destinationFor(engine, g(), { ...o, bucket: o.bucket! });
        const jobs = await engine.enqueue(files, {
          destination: dest,
          ...(o.priority !== undefined ? { priority: o.priority } : {}),
          ...(o.key !== undefined ? { key: o.key } : {}),
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          ...(o.partSize !== undefined ? { partSize: o.partSize } : {}),
          ...(o.singlePutThreshold !== undefined ? { singlePutThreshold: o.singlePutThreshold } : {}),
          ...(o.maxObjectSize !== undefined ? { maxObjectSize: o.maxObjectSize } : {}),
          ...(o.maxParts !== undefined ? { maxParts: o.maxParts } : {}),
          ...(o.checksum !== undefined ? { checksum: o.checksum === 'none' ? null : (o.checksum as ChecksumAlgorithm) } : {}),
          ...(o.hash !== undefined ? { hashes: o.hash } : {}),
          ...(o.mhl ? { mhl: 'upload' as const } : {}),
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

  const jobsCommand = program
    .command('jobs')
    .description('list jobs (and `hoist jobs priority ID LEVEL`)')
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

  const batches = program.command('batches').description('ASC MHL batches: files sent together under one root, and the generation written for them');
  batches
    .command('list')
    .description('every batch, with its root, its files and the generation written (or owed)')
    .option('--json', 'machine-readable output (stable; see docs/cli.md)')
    .action(async (o: { json?: boolean }) => {
      const engine = await openEngine(g());
      try {
        const list = engine.listBatches();
        if (o.json) process.stdout.write(JSON.stringify({ batches: list.map(publicBatchOf) }, null, 2) + '\n');
        else if (list.length === 0) process.stdout.write('no ASC MHL batches\n');
        else for (const b of list) process.stdout.write(batchLine(b) + '\n');
      } finally {
        void engine.close();
      }
    });
  batches
    .command('retry')
    .description('write the generation of a batch whose write failed, again (`hoist run` writes it)')
    .argument('<id>', 'batch id', jobIdArg)
    .action(async (id: number) => {
      const engine = await openEngine(g());
      try {
        engine.retryBatch(id);
        process.stderr.write(`batch ${id} queued again; \`hoist run\` writes its generation\n`);
      } finally {
        await engine.close();
      }
    });

  jobsCommand
    .command('priority')
    .description("change a job's priority while it waits or runs (parts already on the wire are not stopped)")
    .argument('<id>', 'job id', jobIdArg)
    .addArgument(new Argument('<level>', 'high, normal or low').choices([...PRIORITIES]))
    .action(async (id: number, level: Priority) => {
      const engine = await openEngine(g());
      try {
        engine.setPriority(id, level);
        process.stderr.write(`job ${id} is now ${level} priority\n`);
      } finally {
        await engine.close();
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
        const batch = job.batchId === null ? undefined : engine.batch(job.batchId);
        if (o.json) {
          process.stdout.write(JSON.stringify({ job: publicJob(job), parts, history, batch: batch ? publicBatchOf(batch) : null }, null, 2) + '\n');
          return;
        }
        process.stdout.write(jobLine(job) + '\n');
        for (const [alg, value] of Object.entries(job.hashes)) process.stdout.write(`  ${alg.padEnd(7)} ${value}${job.verifiedBy?.algorithms.includes(alg as FileHashAlgorithm) ? `  (matches ${job.verifiedBy.manifest})` : ''}\n`);
        if (batch) process.stdout.write(`  ${batchLine(batch)}\n`);
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
        const owed = engine.owedAborts(id);
        reportOwedAborts(owed);
        if (!ok || owed.length > 0) process.exitCode = EXIT_FAILED;
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
    .command('adopt')
    .description('take up uploads no job owns whose keys map to watched files (done by itself after a database rebuild)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; json?: boolean }) => {
      const engine = await openEngine(g());
      try {
        const report = await engine.adoptUploads(await destinationFor(engine, g(), o));
        if (report.error) throw fromErrorInfo(report.error);
        if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else for (const line of adoptionSummary([report])) process.stderr.write(`${line}\n`);
        if (!o.json && report.adopted.length === 0 && report.left.length === 0) process.stderr.write('no upload in progress without a job\n');
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
  registerDestinationCommands(program, { openEngine: () => openEngine(g()), addDestination: (engine, name, flags) => addNamedDestination(engine, g(), name, flags) });
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
