// `hoist folders add|list|remove`, `hoist watch` and `hoist copy`: watched folders (sending to one
// or several destinations, cleaning up after verified delivery) and server-side copies from the
// command line (issues 3 and 8).
import readline from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HoistError } from '../shared/errors.js';
import path from 'node:path';
import { FILE_HASH_ALGORITHMS, PRIORITIES, type AfterDelivery, type FileHashAlgorithm, type Priority } from '../shared/states.js';
import type { Destination } from '../shared/types.js';
import { namedDestination } from './cli-destinations.js';
import { ProgressView, batchLine, jobLine } from './cli-output.js';
import { checkWebhookUrl } from './engine/notify/webhook-payloads.js';
import { hashListArg, sizeArg } from './cli-args.js';
import { SETTLED_STATES, type Engine } from './engine/engine.js';
import { copyObject, type ObjectRef } from './engine/s3/copy.js';
import type { FolderRecord } from './engine/store/folder-store.js';
import type { JobRecord } from './engine/store/job-store.js';
import type { CleanupRetry } from './engine/watch/cleanup.js';
import { formatBytes } from './engine/upload/part-plan.js';
import { DEFAULT_POLL_INTERVAL_MS, FolderWatcher } from './engine/watch/folder-watcher.js';

export interface FolderCommandDeps {
  /** Opens the engine with the global options (--db, --endpoint, …). */
  openEngine(): Promise<Engine>;
  /** The destination for a bucket on the resolved endpoint, as `hoist upload` makes it. */
  destinationFor(engine: Engine, flags: { bucket: string }): Promise<Destination>;
}

const EXIT_FAILED = 1;
const EXIT_INTERRUPTED = 130;

/** "3s", "500ms", "1.5s", "2m" or plain seconds, in milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 3s, 500ms or 2m');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --after keep | delete | move:DIR (DIR relative to the current folder) */
export function parseAfter(v: string): { after: AfterDelivery; moveTo: string | null } {
  if (v === 'keep' || v === 'delete') return { after: v, moveTo: null };
  const m = /^move:(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected keep, delete or move:DIR');
  return { after: 'move', moveTo: path.resolve(m[1]!) };
}

/** Back-off of a failed delete or move after delivery, from the environment (tests and impatient people). */
function cleanupRetryFromEnv(env = process.env): Partial<CleanupRetry> {
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    ...(num('HOIST_CLEANUP_RETRY_BASE_MS') !== undefined ? { baseDelayMs: num('HOIST_CLEANUP_RETRY_BASE_MS')! } : {}),
    ...(num('HOIST_CLEANUP_RETRY_MAX_MS') !== undefined ? { maxDelayMs: num('HOIST_CLEANUP_RETRY_MAX_MS')! } : {}),
  };
}

function folderIdArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a folder id (see `hoist folders list`)');
  return n;
}

/** s3://BUCKET/KEY */
export function parseS3Url(v: string): ObjectRef {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`"${v}" is not of the form s3://BUCKET/KEY`);
  return { bucket: m[1]!, key: m[2]! };
}

/** The folder with its destinations by name, as `folders add --json` and `folders list --json` print it. */
function folderView(engine: Engine, f: FolderRecord): FolderRecord & { bucket: string; destinations: string[] } {
  const dests = f.destinationIds.map((id) => engine.store.getDestination(id));
  return { ...f, bucket: dests[0]?.bucket ?? '?', destinations: dests.map((d, i) => d?.name ?? `#${f.destinationIds[i]}`) };
}

function folderLine(f: FolderRecord & { bucket: string; destinations: string[] }): string {
  const flags = [
    f.priority !== 'normal' ? `${f.priority} priority` : '',
    f.after === 'delete' ? 'delete after delivery' : f.after === 'move' ? `move to ${f.moveTo} after delivery` : '',
    f.growing ? 'growing' : '',
    `stable ${f.stableMs / 1000}s`,
    f.include.length ? `include ${f.include.join(',')}` : '',
    f.exclude.length ? `exclude ${f.exclude.join(',')}` : '',
    f.singlePutThreshold !== null ? `single-put below ${formatBytes(f.singlePutThreshold)}` : '',
    f.hashAlgorithms.length ? `hashes ${f.hashAlgorithms.join(',')}` : 'no hashes',
    f.mhl ? 'ASC MHL' : '',
    f.webhookUrl ? `webhook ${new URL(f.webhookUrl).host}` : '',
    f.enabled ? '' : 'disabled',
  ].filter(Boolean);
  const to = f.destinations.length === 1 ? `s3://${f.bucket}/${f.prefix}` : `${f.destinations.join(', ')} (prefix ${f.prefix || 'none'})`;
  return `${String(f.id).padStart(4)}  ${f.path}  ->  ${to}  (${flags.join('; ')})`;
}

/** Asks on the terminal until the answer is keep or cancel. */
async function askKeepOrCancel(folder: FolderRecord, unfinished: number): Promise<'keep' | 'cancel'> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const answer = (await rl.question(`Folder ${folder.id} (${folder.path}) has ${unfinished} unfinished upload(s). Keep them to finish (k), or cancel them and abort their uploads (c)? [k/c] `)).trim().toLowerCase();
      if (answer === 'k' || answer === 'keep') return 'keep';
      if (answer === 'c' || answer === 'cancel') return 'cancel';
    }
  } finally {
    rl.close();
  }
}

export function registerFolderCommands(program: Command, deps: FolderCommandDeps): void {
  const folders = program.command('folders').description('folders whose finished files are uploaded (see `hoist watch`)');

  folders
    .command('add')
    .description('watch a folder: every finished file under it goes to each destination, once')
    .argument('<dir>', 'the folder')
    .option('--to <name>', 'a named destination (repeatable: one job per file and destination)', collect, [])
    .option('--bucket <bucket>', 'shorthand for one destination: this bucket on the resolved endpoint')
    .option('--after <what>', 'once every destination verified a file: keep it, delete it, or move:DIR (same relative path under DIR); default keep', parseAfter)
    .addOption(new Option('--priority <level>', 'priority of its jobs (a dailies folder marked high overtakes normal work)').choices([...PRIORITIES]))
    .option('--prefix <prefix>', 'key prefix; a file goes to PREFIX/PATH-RELATIVE-TO-DIR', '')
    .option('--include <glob>', 'only files matching this pattern (repeatable; a pattern without / matches the name at any depth)', collect, [])
    .option('--exclude <glob>', 'never files matching this pattern (repeatable)', collect, [])
    .option('--growing', 'send parts while files are still being written (recorders, long renders)')
    .option('--stable-for <duration>', 'how long size and mtime must stay unchanged before a file counts as finished (default 3s)', parseDuration)
    .option('--single-put-threshold <size>', "files below this go as one PutObject (default: the destination's)", sizeArg)
    .option('--hash <list>', `whole-file hashes to record, comma-separated: ${FILE_HASH_ALGORITHMS.join(', ')}, or none (default xxh64)`, hashListArg)
    .option('--mhl', "write an ASC MHL generation under each root's prefix once a batch of files has arrived (the folder went idle)")
    .option('--webhook <url>', 'POST a JSON event to this URL for each job done or failed and each batch done (docs/webhooks.md)')
    .option('--json', 'print the folder as JSON')
    .action(async (dir: string, o: { to: string[]; bucket?: string; after?: { after: AfterDelivery; moveTo: string | null }; priority?: Priority; prefix: string; include: string[]; exclude: string[]; growing?: boolean; stableFor?: number; singlePutThreshold?: number; hash?: FileHashAlgorithm[]; mhl?: boolean; webhook?: string; json?: boolean }) => {
      if ((o.bucket === undefined) === (o.to.length === 0)) {
        throw new HoistError('config.invalid', { message: 'Say where the files go: --to NAME (repeatable) for named destinations, or --bucket BUCKET for one (not both).' });
      }
      const engine = await deps.openEngine();
      try {
        const dests = o.bucket !== undefined ? [await deps.destinationFor(engine, { bucket: o.bucket })] : o.to.map((name) => namedDestination(engine, name));
        const folder = await new FolderWatcher(engine).addFolder({
          path: dir,
          destinationId: dests[0]!.id,
          destinationIds: dests.map((d) => d.id),
          ...(o.after ? { after: o.after.after, moveTo: o.after.moveTo } : {}),
          ...(o.priority ? { priority: o.priority } : {}),
          prefix: o.prefix,
          include: o.include,
          exclude: o.exclude,
          growing: Boolean(o.growing),
          ...(o.stableFor !== undefined ? { stableMs: o.stableFor } : {}),
          ...(o.singlePutThreshold !== undefined ? { singlePutThreshold: o.singlePutThreshold } : {}),
          ...(o.hash !== undefined ? { hashAlgorithms: o.hash } : {}),
          mhl: Boolean(o.mhl),
          ...(o.webhook !== undefined ? { webhookUrl: o.webhook } : {}),
        });
        const view = folderView(engine, folder);
        if (o.json) process.stdout.write(JSON.stringify({ folder: view }, null, 2) + '\n');
        else process.stderr.write(`watching ${folderLine(view).trimStart()}\n\`hoist watch\` uploads what arrives there.\n`);
      } finally {
        await engine.close();
      }
    });

  folders
    .command('list')
    .description('the watched folders')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const engine = await deps.openEngine();
      try {
        const list = new FolderWatcher(engine).listFolders().map((f) => folderView(engine, f));
        if (o.json) process.stdout.write(JSON.stringify({ folders: list }, null, 2) + '\n');
        else if (list.length === 0) process.stdout.write('no watched folders (add one with `hoist folders add DIR --to NAME` or `--bucket B`)\n');
        else for (const f of list) process.stdout.write(folderLine(f) + '\n');
      } finally {
        await engine.close();
      }
    });

  folders
    .command('remove')
    .description('stop watching a folder; asks whether its unfinished uploads are kept or cancelled')
    .argument('<id>', 'folder id', folderIdArg)
    .addOption(new Option('--unfinished <what>', 'its unfinished uploads: keep them to finish, or cancel them and abort their uploads').choices(['keep', 'cancel']))
    .action(async (id: number, o: { unfinished?: 'keep' | 'cancel' }) => {
      const engine = await deps.openEngine();
      try {
        const watcher = new FolderWatcher(engine);
        const folder = watcher.folders.getFolder(id);
        if (!folder) throw new HoistError('config.invalid', { message: `There is no watched folder ${id} (see \`hoist folders list\`).` });
        const unfinished = watcher.folders.unfinishedJobIds(id).length;
        let choice = o.unfinished;
        if (!choice && !process.stdin.isTTY) {
          throw new HoistError('config.invalid', {
            message: `Say what becomes of folder ${id}'s unfinished uploads (${unfinished} now): --unfinished keep lets them finish, --unfinished cancel cancels them and aborts their uploads.`,
          });
        }
        choice ??= unfinished > 0 ? await askKeepOrCancel(folder, unfinished) : 'keep';
        await watcher.removeFolder(id, choice);
        process.stderr.write(`stopped watching ${folder.path}; ${unfinished} unfinished upload(s) ${choice === 'keep' ? 'kept' : 'cancelled and aborted'}\n`);
      } finally {
        await engine.close();
      }
    });

  folders
    .command('webhook')
    .description("set or remove a folder's webhook (events already queued still go to the URL they were made for)")
    .argument('<id>', 'folder id', folderIdArg)
    .argument('[url]', 'http:// or https:// URL that receives the events')
    .option('--off', 'remove the webhook')
    .action(async (id: number, url: string | undefined, o: { off?: boolean }) => {
      if ((url === undefined) === !o.off) throw new HoistError('config.invalid', { message: 'Give the webhook URL, or --off to remove the webhook.' });
      const engine = await deps.openEngine();
      try {
        const checked = url === undefined ? null : checkWebhookUrl(url);
        if (!engine.webhooks.outbox.setWebhook(id, checked)) throw new HoistError('config.invalid', { message: `There is no watched folder ${id} (see \`hoist folders list\`).` });
        process.stderr.write(checked ? `folder ${id} now posts its events to ${checked}\n` : `folder ${id} has no webhook any more\n`);
      } finally {
        await engine.close();
      }
    });

  program
    .command('webhooks')
    .description('webhook events: delivered, owed (with their next attempt and last error) and given up')
    .option('--owed', 'only the events not delivered yet')
    .option('--json', 'machine-readable output (stable; see docs/webhooks.md)')
    .action(async (o: { owed?: boolean; json?: boolean }) => {
      const engine = await deps.openEngine();
      try {
        const items = engine.webhooks.outbox.all().filter((i) => !o.owed || (i.deliveredAt === null && i.givenUpAt === null));
        const state = (i: (typeof items)[number]) => (i.deliveredAt !== null ? 'delivered' : i.givenUpAt !== null ? 'given-up' : 'owed');
        const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
        if (o.json) {
          const events = items.map((i) => ({ id: i.id, kind: i.kind, url: i.url, state: state(i), attempts: i.attempts, createdAt: iso(i.createdAt), deliveredAt: iso(i.deliveredAt), nextAttemptAt: state(i) === 'owed' ? iso(Math.max(i.availableAt, i.createdAt)) : null, lastError: i.lastError }));
          process.stdout.write(JSON.stringify({ events }, null, 2) + '\n');
        } else if (items.length === 0) process.stdout.write(o.owed ? 'no webhook events owed\n' : 'no webhook events yet (set one with `hoist folders add --webhook URL` or `hoist folders webhook ID URL`)\n');
        else for (const i of items) process.stdout.write(`${state(i).padEnd(9)} ${i.kind.padEnd(10)} ${i.id}  ${i.url}  attempts ${i.attempts}${i.lastError ? `  (${i.lastError})` : ''}\n`);
      } finally {
        await engine.close();
      }
    });

  program
    .command('watch')
    .description('watch the folders and upload what arrives, in the foreground; Ctrl-C pauses cleanly')
    .option('--poll', 'scan every folder on a timer instead of waiting for events (network shares that send none)')
    .option('--poll-interval <duration>', `time between scans when polling (default ${DEFAULT_POLL_INTERVAL_MS / 1000}s)`, parseDuration)
    .option('--once', 'scan, upload what is there, wait for it to finish, and exit (0 only if all arrived)')
    .action(async (o: { poll?: boolean; pollInterval?: number; once?: boolean }) => {
      process.exitCode = await watch(deps, o);
    });

  program
    .command('copy')
    .description('copy an object server-side (CopyObject up to 5 GiB, parallel UploadPartCopy ranges above)')
    .argument('<source>', 's3://BUCKET/KEY', parseS3Url)
    .argument('<target>', 's3://BUCKET/KEY', parseS3Url)
    .option('--part-size <size>', 'range size above the threshold (default 512MiB)', sizeArg)
    .option('--multipart-threshold <size>', 'objects above this are copied in ranges (default and maximum 5GiB)', sizeArg)
    .option('--concurrency <n>', 'ranges copied at once (default 8)', (v) => folderIdArg(v))
    .option('--json', 'print the result as JSON')
    .action(async (source: ObjectRef, target: ObjectRef, o: { partSize?: number; multipartThreshold?: number; concurrency?: number; json?: boolean }) => {
      const engine = await deps.openEngine();
      try {
        const client = await engine.clientFor(await deps.destinationFor(engine, { bucket: source.bucket }));
        await deps.destinationFor(engine, { bucket: target.bucket });
        const r = await copyObject(client, source, target, {
          ...(o.partSize !== undefined ? { partSize: o.partSize } : {}),
          ...(o.multipartThreshold !== undefined ? { multipartThreshold: o.multipartThreshold } : {}),
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        });
        if (o.json) process.stdout.write(JSON.stringify({ source, target, ...r }, null, 2) + '\n');
        else process.stderr.write(`copied ${formatBytes(r.size)} server-side to s3://${target.bucket}/${target.key} (${r.mode === 'single' ? 'CopyObject' : `${r.parts} UploadPartCopy ranges`}; ETag ${r.etag})\n`);
      } finally {
        await engine.close();
      }
    });
}

/** `hoist watch`: runs until Ctrl-C (or, with --once, until what was found has settled); returns the exit status. */
async function watch(deps: FolderCommandDeps, o: { poll?: boolean; pollInterval?: number; once?: boolean }): Promise<number> {
  const engine = await deps.openEngine();
  const settle = process.env.HOIST_BATCH_SETTLE_MS ? Number(process.env.HOIST_BATCH_SETTLE_MS) : undefined;
  const watcher = new FolderWatcher(engine, {
    ...(o.poll ? { poll: true } : {}),
    ...(o.pollInterval !== undefined ? { pollIntervalMs: o.pollInterval } : {}),
    ...(settle !== undefined ? { batchSettleMs: settle } : {}),
    cleanupRetry: cleanupRetryFromEnv(),
  });
  const enabled = watcher.listFolders().filter((f) => f.enabled);
  if (enabled.length === 0) {
    await engine.close();
    throw new HoistError('config.invalid', { message: 'No folder is watched. Add one first: hoist folders add DIR --bucket BUCKET' });
  }
  const started = engine.start();
  if (!started.ok) {
    await engine.close();
    // One process decides the files (the one that works the queue), so no file is decided twice.
    throw new HoistError('config.invalid', { message: `Hoist pid ${started.pid} on ${started.host} already works this queue; only that process watches the folders. Stop it first, or leave the watching to it.` });
  }
  const view = new ProgressView(process.stderr);
  let problems = 0;
  const mine = new Set<number>();
  const reported = new Map<number, string>();
  // The unsettled jobs this watch made, kept from events: a tree of 100,000 files is not read back every 250 ms.
  const open = new Map<number, JobRecord>();
  const follow = (j: JobRecord) => {
    if (SETTLED_STATES.includes(j.state)) open.delete(j.id);
    else open.set(j.id, j);
  };
  watcher.on('file', (a) => {
    if (a.jobId !== null && !mine.has(a.jobId)) {
      mine.add(a.jobId);
      const job = engine.getJob(a.jobId);
      if (job) follow(job);
    }
    const from = a.fromKey ? ` from ${a.fromKey}` : '';
    if (a.action === 'deleted' || a.action === 'moved') view.say(`${a.action.padEnd(10)} ${a.path} (every destination verified it)`);
    else view.say(`${a.action.padEnd(10)} ${a.path} -> ${a.key}${from}`);
  });
  watcher.on('skipped', (s) => {
    problems++;
    view.say(`skipped    ${s.path}: ${s.reason}: ${s.message}`);
  });
  watcher.on('notice', (n) => view.say(`hoist: ${n.message}`));
  engine.on('job', (j: JobRecord) => {
    if (mine.has(j.id)) follow(j);
    if (!SETTLED_STATES.includes(j.state) || reported.get(j.id) === j.state) return;
    reported.set(j.id, j.state);
    view.say(jobLine(j));
  });
  let batchesFailed = 0;
  engine.on('batch', (b) => {
    if (b.state !== 'written' && b.state !== 'failed') return;
    if (b.state === 'failed') batchesFailed++;
    view.say(batchLine(b));
  });

  let stopping: Promise<number> | null = null;
  const stop = (status: number, reason?: string): Promise<number> => {
    stopping ??= (async () => {
      if (reason) view.say(`hoist: ${reason}: pausing cleanly; \`hoist watch\` resumes where this stopped.`);
      await watcher.stop();
      view.end();
      await engine.close();
      return status;
    })();
    return stopping;
  };
  const onSignal = (signal: string) => {
    if (stopping) process.exit(EXIT_INTERRUPTED);
    void stop(EXIT_INTERRUPTED, signal).then((status) => process.exit(status));
  };
  process.once('SIGINT', () => onSignal('interrupted'));
  process.once('SIGTERM', () => onSignal('terminated'));

  await watcher.start();
  view.say(`watching ${enabled.length} folder(s)${o.once ? '' : '; Ctrl-C pauses cleanly'}`);
  for (;;) {
    if (stopping) return stopping;
    if (open.size > 0) view.update([...open.values()], engine.progress());
    const unsettled = engine.store.queryJobs({ states: ['queued', 'running', 'completing'], limit: 0 }).total;
    if (o.once && watcher.idle && unsettled === 0) {
      // What arrived is one batch per root: its generation is written before --once exits.
      watcher.sealQuietBatches(true);
      await engine.waitForBatches(engine.listBatches({ states: ['sealed'] }).map((b) => b.id));
      const failed = [...mine].filter((id) => engine.getJob(id)?.state !== 'done').length;
      return stop(failed + problems + batchesFailed === 0 ? 0 : EXIT_FAILED);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
