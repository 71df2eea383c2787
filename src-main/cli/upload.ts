// `hoist upload`, `hoist run`, `hoist jobs` (and `jobs priority`), `hoist job ID`: queueing files,
// working the queue until what was asked for has settled, and showing the jobs.
import { Argument, Option, type Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import { DEFAULT_CONCURRENCY, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE } from '../../shared/limits.js';
import { CHECKSUM_ALGORITHMS, FILE_HASH_ALGORITHMS, JOB_STATES, PRIORITIES, type ChecksumAlgorithm, type FileHashAlgorithm, type IfExistsPolicy, type IntegrityMode, type JobState, type Priority } from '../../shared/states.js';
import { publicBatchOf } from '../engine/public-records.js';
import { SETTLED_STATES } from '../engine/engine.js';
import type { JobRecord } from '../engine/store/job-store.js';
import type { HoistRuntime, RuntimeOptions } from '../runtime/runtime.js';
import { concurrencyArg, hashListArg, ifExistsOption, intArg, integrityOption, jobIdArg, sizeArg } from './args.js';
import { destinationFor, namedDestination, type DestinationFlags } from './destination-of.js';
import { EXIT_FAILED } from './exit-codes.js';
import { ProgressView, batchLine, jobLine, owedAbortText, printJson, printList, publicJob, summaryLine, summaryOf } from './output.js';
import { tuningSummary } from './pace.js';
import { withHoist, type CommandScope, type Globals } from './with-hoist.js';

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
  ifExists?: IfExistsPolicy;
  integrity?: IntegrityMode;
  json?: boolean;
}

/** Refuses flags that contradict each other before anything is opened. */
function checkUploadFlags(o: UploadFlags): void {
  if (o.key !== undefined && o.prefix !== undefined) throw new HoistError('config.invalid', { message: 'Use --key or --prefix, not both.' });
  if (o.key !== undefined && o.mhl) throw new HoistError('config.invalid', { message: 'An ASC MHL history lists files by their path under a root: use --prefix, not --key, with --mhl.' });
  if ((o.bucket === undefined) === (o.to === undefined)) throw new HoistError('config.invalid', { message: 'Say where the files go: --bucket BUCKET, or --to NAME for a named destination (not both).' });
  const destinationFlags = ['concurrency', 'storageClass', 'sse', 'sseKmsKeyId', 'integrity'] as const;
  if (o.to !== undefined && destinationFlags.some((f) => o[f] !== undefined)) {
    throw new HoistError('config.invalid', { message: `--concurrency, --storage-class, --sse and --integrity belong to the destination; with --to they are set by \`hoist destinations add\`.` });
  }
}

/** How often the jobs already settled are read again (a retryable failure goes back to the queue). */
const FULL_READ_EVERY_MS = 5_000;

/** `hoist run` and `hoist upload` work the queue without watching the folders, and follow another process that works it. */
const WORK_ONLY: Pick<RuntimeOptions, 'watch' | 'wait'> = { watch: false, wait: false };

/** Works the queue (or watches another process do it) until the given jobs settle; returns the exit status. */
async function workUntilSettled(rt: HoistRuntime, scope: CommandScope, jobIds: number[] | 'all', json: boolean): Promise<number> {
  const engine = rt.engine;
  const view = new ProgressView(process.stderr);
  const started = await rt.start();
  if (!started.ok) view.say(`hoist: the queue is being worked by Hoist pid ${started.pid} on ${started.host}; following its progress.`);
  // Ctrl-C and SIGTERM stop traffic cleanly: running jobs go back to the queue and resume next time.
  scope.onInterrupt((signal) => view.say(`hoist: ${signal}: pausing cleanly; \`hoist run\` resumes where this stopped.`));
  const seen = new Map<number, JobState>();
  const report = (jobs: JobRecord[]) => {
    for (const j of jobs) {
      if (seen.get(j.id) === j.state) continue;
      seen.set(j.id, j.state);
      if (!json && (SETTLED_STATES.includes(j.state) || j.state === 'paused')) view.say(jobLine(j));
    }
  };
  const ids = () => (jobIds === 'all' ? engine.listJobs({ states: ['queued', 'running', 'completing'] }).map((j) => j.id).concat([...seen.keys()]) : jobIds);
  // Where this process works the queue, its engine's job events keep the view current; every job is
  // read again only now and then (reading thousands of frames' rows four times a second was most of
  // the main thread's CPU), when another process works the queue, and before the command ends: it
  // ends only once a read of every job finds them all settled (a retryable failure may be queued again).
  const latest = new Map<number, JobRecord>();
  const onJob = (j: JobRecord) => {
    if (latest.has(j.id)) latest.set(j.id, j);
  };
  if (started.ok) engine.on('job', onJob);
  let fullReadAt = 0;
  let finalJobs: JobRecord[];
  try {
    for (;;) {
      const settled = [...latest.values()].every((j) => SETTLED_STATES.includes(j.state));
      const full = !started.ok || settled || Date.now() - fullReadAt >= FULL_READ_EVERY_MS;
      if (full) {
        fullReadAt = Date.now();
        latest.clear();
        for (const j of engine.listJobs({ ids: [...new Set(ids())] })) latest.set(j.id, j);
      }
      const jobs = [...latest.values()];
      report(jobs);
      if (!json) view.update(jobs, engine.progress());
      if (full && jobs.every((j) => SETTLED_STATES.includes(j.state))) {
        finalJobs = jobs;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    engine.off('job', onJob);
  }
  // The ASC MHL generations of these jobs' batches come last (the queue's runner writes them).
  const batchIds = [...new Set(finalJobs.map((j) => j.batchId).filter((id): id is number => id !== null))];
  const sealed = jobIds === 'all' ? engine.listBatches({ states: ['sealed'] }).map((b) => b.id) : [];
  const batches = await engine.waitForBatches([...new Set([...batchIds, ...sealed])]);
  if (!json) for (const b of batches) view.say(batchLine(b));
  view.end();
  // Invariant 4 before leaving: aborts still owed (a cancel, a restarted upload) are sent now.
  const owed = started.ok ? await engine.settleOwedAborts() : [];
  for (const a of owed) process.stderr.write(owedAbortText(a));
  if (!json && started.ok) for (const line of tuningSummary(engine)) process.stderr.write(line + '\n');
  const summary = summaryOf(finalJobs);
  if (json) printJson({ jobs: finalJobs.map(publicJob), summary, ...(batches.length ? { batches: batches.map(publicBatchOf) } : {}) });
  else process.stdout.write(summaryLine(summary) + '\n');
  const allDone = finalJobs.every((j) => j.state === 'done') && batches.every((b) => b.state === 'written');
  // `hoist run` works the whole queue, owed aborts included; `hoist upload` answers for its files.
  return allDone && (jobIds !== 'all' || owed.length === 0) ? 0 : EXIT_FAILED;
}

export function registerUploadCommands(program: Command, globals: Globals): void {
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
    .option('--concurrency <n>', `parts in flight for this destination (default ${DEFAULT_CONCURRENCY})`, concurrencyArg)
    .addOption(new Option('--checksum <algorithm>', 'this upload sends this checksum with every part (alone where the server verifies it, else with Content-MD5)').choices([...CHECKSUM_ALGORITHMS, 'none']))
    .addOption(integrityOption())
    .option('--storage-class <class>', 'storage class, e.g. STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR')
    .addOption(new Option('--sse <mode>', 'server-side encryption').choices(['AES256', 'aws:kms']))
    .option('--sse-kms-key-id <id>', 'KMS key for --sse aws:kms')
    .option('--single-put-threshold <size>', 'files below this go as one PutObject (default 100MiB)', sizeArg)
    .option('--max-object-size <size>', 'largest object the destination accepts (default 48.8TiB on Amazon S3, 5TiB elsewhere)', sizeArg)
    .option('--max-parts <n>', 'parts one upload may have, for servers configured below 10,000', intArg(1, MAX_PARTS))
    .addOption(ifExistsOption("default: the destination's, skip-identical unless set"))
    .option('--json', 'print the jobs as JSON when they end')
    .action(async (files: string[], o: UploadFlags) => {
      checkUploadFlags(o);
      process.exitCode = await withHoist(globals(), async (rt, scope) => {
        const engine = rt.engine;
        const dest = o.to !== undefined ? namedDestination(engine, o.to) : await destinationFor(engine, globals(), { ...o, bucket: o.bucket! });
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
          ...(o.ifExists !== undefined ? { ifExists: o.ifExists } : {}),
        });
        if (!o.json) for (const j of jobs) process.stderr.write(`queued ${jobLine(j).trimStart()}\n`);
        return workUntilSettled(rt, scope, jobs.map((j) => j.id), Boolean(o.json));
      }, WORK_ONLY);
    });

  program
    .command('run')
    .description('work the queue until it is empty (resumes what a crash or Ctrl-C interrupted)')
    .option('--json', 'print the jobs as JSON when they end')
    .action(async (o: { json?: boolean }) => {
      process.exitCode = await withHoist(globals(), (rt, scope) => workUntilSettled(rt, scope, 'all', Boolean(o.json)), WORK_ONLY);
    });

  const jobsCommand = program
    .command('jobs')
    .description('list jobs (and `hoist jobs priority ID LEVEL`, `hoist jobs clear-finished`)')
    .option('--json', 'machine-readable output (stable; see docs/cli.md)')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices([...JOB_STATES]))
    .option('--all', 'also the finished jobs `hoist jobs clear-finished` took off the list')
    .option('--search <text>', "only jobs whose key or source path holds this text (any case), as the app's search box")
    .action(async (o: { json?: boolean; state?: JobState; all?: boolean; search?: string }) => {
      await withHoist(globals(), async ({ engine }) => {
        const states = o.state ? { states: [o.state] } : {};
        const search = o.search?.trim();
        const ids = search ? { ids: engine.store.bulk.idsMatching({ ...states, search, cleared: Boolean(o.all) }) } : {};
        const jobs = engine.listJobs({ ...states, ...ids, listed: !o.all });
        printList(o.json, 'jobs', jobs, jobLine, 'no jobs', publicJob);
      });
    });

  jobsCommand
    .command('priority')
    .description("change a job's priority while it waits or runs (parts already on the wire are not stopped)")
    .argument('<id>', 'job id', jobIdArg)
    .addArgument(new Argument('<level>', 'high, normal or low').choices([...PRIORITIES]))
    .action(async (id: number, level: Priority) => {
      await withHoist(globals(), async ({ engine }) => {
        engine.setPriority(id, level);
        process.stderr.write(`job ${id} is now ${level} priority\n`);
      });
    });

  jobsCommand
    .command('clear-finished')
    .description('take done and cancelled jobs off the list (`hoist jobs --all` still shows them; ASC MHL, clean-up and skip-identical keep using them)')
    .action(async () => {
      await withHoist(globals(), async ({ engine }) => {
        const { changed } = engine.commands.act({ filter: { states: ['done', 'cancelled'] } }, 'clear');
        process.stderr.write(`cleared ${changed.length} finished job(s) off the list\n`);
      });
    });

  program
    .command('job')
    .description('one job with its parts and history')
    .argument('<id>', 'job id', jobIdArg)
    .option('--json', 'machine-readable output')
    .action(async (id: number, o: { json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const job = engine.getJob(id);
        if (!job) throw new HoistError('config.invalid', { message: `There is no job ${id}.` });
        const parts = engine.parts(id).map(({ jobId: _j, availableAt: _a, attempts: _t, ...p }) => p);
        const history = engine.events(id);
        const batch = job.batchId === null ? undefined : engine.batch(job.batchId);
        if (o.json) {
          printJson({ job: publicJob(job), parts, history, batch: batch ? publicBatchOf(batch) : null });
          return;
        }
        process.stdout.write(jobLine(job) + '\n');
        if (job.etag) process.stdout.write(`  ETag    ${job.etag}${job.versionId ? `  version ${job.versionId}` : ''}\n`);
        if (job.flag) process.stdout.write(`  ${job.flag.code}: ${job.flag.message}\n`);
        if (job.serverEncryption) process.stdout.write(`  encryption ${job.serverEncryption} (as the server's answers named it)\n`);
        if (job.integrity) process.stdout.write(`  integrity  ${job.proof ? `${job.proof}: ` : ''}${job.integrity} (mode ${job.integrityMode})\n`);
        for (const [alg, value] of Object.entries(job.hashes)) process.stdout.write(`  ${alg.padEnd(7)} ${value}${job.verifiedBy?.algorithms.includes(alg as FileHashAlgorithm) ? `  (matches ${job.verifiedBy.manifest})` : ''}\n`);
        if (batch) process.stdout.write(`  ${batchLine(batch)}\n`);
        for (const e of history) process.stdout.write(`  ${e.at}  ${e.kind.padEnd(16)} ${e.message}\n`);
      });
    });
}
