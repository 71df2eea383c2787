// `hoist folders add|list|remove|path|webhook|webhook-secret`: the watched folders (sending to one or several
// destinations, cleaning up after verified delivery), kept in the database; `hoist watch`
// (watch.ts) or the app uploads what arrives in them (issues 3 and 8).
import readline from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import { FILE_HASH_ALGORITHMS, PRIORITIES, type AfterDelivery, type FileHashAlgorithm, type IfExistsPolicy, type Priority } from '../../shared/states.js';
import type { Engine } from '../engine/engine.js';
import { checkWebhookUrl } from '../engine/notify/webhook-payloads.js';
import type { FolderRecord } from '../engine/store/folder-store.js';
import { formatBytes } from '../engine/upload/part-plan.js';
import { collect, folderIdArg, hashListArg, ifExistsOption, parseAfter, parseDuration, sizeArg } from './args.js';
import { destinationFor, namedDestination } from './destination-of.js';
import { printJson, printList } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';
import { registerFolderPathCommand } from './folder-paths.js';

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
    f.ifExists ? `if the key exists: ${f.ifExists}` : '',
    f.enabled ? '' : 'disabled',
    f.seenHere ? '' : 'not seen on this machine (`hoist folders path`)',
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

export function registerFolderCommands(program: Command, globals: Globals): void {
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
    .addOption(ifExistsOption("default: each destination's"))
    .option('--json', 'print the folder as JSON')
    .action(async (dir: string, o: { to: string[]; bucket?: string; ifExists?: IfExistsPolicy; after?: { after: AfterDelivery; moveTo: string | null }; priority?: Priority; prefix: string; include: string[]; exclude: string[]; growing?: boolean; stableFor?: number; singlePutThreshold?: number; hash?: FileHashAlgorithm[]; mhl?: boolean; webhook?: string; json?: boolean }) => {
      if ((o.bucket === undefined) === (o.to.length === 0)) {
        throw new HoistError('config.invalid', { message: 'Say where the files go: --to NAME (repeatable) for named destinations, or --bucket BUCKET for one (not both).' });
      }
      await withHoist(globals(), async ({ engine, folders: watcher }) => {
        const dests = o.bucket !== undefined ? [await destinationFor(engine, globals(), { bucket: o.bucket })] : o.to.map((name) => namedDestination(engine, name));
        const folder = await watcher.addFolder({
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
          ...(o.ifExists !== undefined ? { ifExists: o.ifExists } : {}),
        });
        const view = folderView(engine, folder);
        if (o.json) printJson({ folder: view });
        else process.stderr.write(`watching ${folderLine(view).trimStart()}\n\`hoist watch\` uploads what arrives there.\n${folder.webhookUrl ? `Its webhook events are signed: \`hoist folders webhook-secret ${folder.id}\` shows the secret for the receiver.\n` : ''}`);
      });
    });

  folders
    .command('list')
    .description('the watched folders')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      await withHoist(globals(), async ({ engine, folders: watcher }) => {
        const list = watcher.listFolders().map((f) => folderView(engine, f));
        printList(o.json, 'folders', list, folderLine, 'no watched folders (add one with `hoist folders add DIR --to NAME` or `--bucket B`)');
      });
    });

  folders
    .command('remove')
    .description('stop watching a folder; asks whether its unfinished uploads are kept or cancelled')
    .argument('<id>', 'folder id', folderIdArg)
    .addOption(new Option('--unfinished <what>', 'its unfinished uploads: keep them to finish, or cancel them and abort their uploads').choices(['keep', 'cancel']))
    .action(async (id: number, o: { unfinished?: 'keep' | 'cancel' }) => {
      await withHoist(globals(), async ({ folders: watcher }) => {
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
      });
    });

  registerFolderPathCommand(folders, globals);

  folders
    .command('webhook')
    .description("set or remove a folder's webhook (events already queued still go to the URL they were made for)")
    .argument('<id>', 'folder id', folderIdArg)
    .argument('[url]', 'http:// or https:// URL that receives the events')
    .option('--off', 'remove the webhook')
    .action(async (id: number, url: string | undefined, o: { off?: boolean }) => {
      if ((url === undefined) === !o.off) throw new HoistError('config.invalid', { message: 'Give the webhook URL, or --off to remove the webhook.' });
      await withHoist(globals(), async ({ engine }) => {
        const checked = url === undefined ? null : checkWebhookUrl(url);
        if (!engine.folders.setWebhook(id, checked)) throw new HoistError('config.invalid', { message: `There is no watched folder ${id} (see \`hoist folders list\`).` });
        if (checked) engine.webhooks.ensureSecret(id);
        engine.configChanged();
        process.stderr.write(checked ? `folder ${id} now posts its events to ${checked}, signed (\`hoist folders webhook-secret ${id}\` shows the secret)\n` : `folder ${id} has no webhook any more\n`);
      });
    });

  folders
    .command('webhook-secret')
    .description("the secret a folder's webhook events are signed with (HMAC-SHA256, X-Hoist-Signature; docs/webhooks.md), for the receiver")
    .argument('<id>', 'folder id', folderIdArg)
    .option('--rotate', 'make a new secret; events sent from now on are signed with it')
    .option('--json', 'machine-readable output')
    .action(async (id: number, o: { rotate?: boolean; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const secret = o.rotate ? engine.webhooks.secrets.rotate(id) : engine.webhooks.secrets.ensure(id);
        if (secret === null) throw new HoistError('config.invalid', { message: `There is no watched folder ${id} (see \`hoist folders list\`).` });
        // The recovery file keeps the sealed secret, so a rebuilt database signs as before.
        engine.configChanged();
        if (o.json) printJson({ folderId: id, secret, algorithm: 'hmac-sha256', signatureHeader: 'X-Hoist-Signature', timestampHeader: 'X-Hoist-Timestamp' });
        else process.stdout.write(`${secret}\n`);
      });
    });
}
