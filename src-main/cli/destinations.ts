// `hoist destinations add|list|remove`: named destinations (issue 8), each a bucket on an endpoint
// with its own credentials. The command line never stores a secret key: it cannot seal one the way
// the desktop app does (with the OS keychain), so its destinations take their credentials from an
// AWS profile (or the standard AWS chain), and it says so.
import { Option, type Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import type { IfExistsPolicy } from '../../shared/states.js';
import type { Destination } from '../../shared/types.js';
import { concurrencyArg, ifExistsOption, integrityOption, nameArg } from './args.js';
import { addNamedDestination, namedDestination, type DestinationFlags } from './destination-of.js';
import { printJson, printList } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

/** Where a destination's credentials come from, in words. */
export function credentialsOf(d: Destination): string {
  if (d.credentials === 'saved') return 'sealed by the desktop app (keychain)';
  return d.profile ? `AWS profile ${d.profile}` : 'the default AWS chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, ~/.aws default)';
}

/** The destination's integrity mode, and for auto what the server was found to do. */
export function integrityOf(d: Destination): string {
  const probe = d.checksumProbe;
  const found = probe ? `server ${probe.verifies ? 'verifies' : 'does not verify'} checksums (checked ${probe.checkedAt.slice(0, 16).replace('T', ' ')}Z)` : 'not yet checked whether the server verifies checksums';
  if (d.integrity === 'md5') return 'md5';
  const uses = d.integrity === 'auto' ? (probe ? (probe.verifies ? ' → CRC32C + full-object checksum' : ' → Content-MD5') : '') : '';
  return `${d.integrity}${uses}, ${found}`;
}

export function destinationLine(d: Destination, folders: number[]): string {
  const facts = [
    d.endpoint ?? `Amazon S3 ${d.region}`,
    d.endpoint ? d.region : '',
    d.pathStyle ? 'path-style' : '',
    `credentials: ${credentialsOf(d)}`,
    d.storageClass ?? '',
    `${d.concurrency} part(s) at once`,
    `if the key exists: ${d.ifExists}`,
    `integrity: ${integrityOf(d)}`,
    folders.length ? `folder(s) ${folders.join(', ')}` : '',
  ].filter(Boolean);
  return `${d.name}  s3://${d.bucket}/${d.prefix}  (${facts.join('; ')})`;
}

export function registerDestinationCommands(program: Command, globals: Globals): void {
  const destinations = program.command('destinations').description('named destinations: a bucket on an endpoint, with its own credentials');

  destinations
    .command('add')
    .description('add a named destination (use it with --to NAME); the global --endpoint, --region, --profile and --path-style belong to it')
    .argument('<name>', 'its name', nameArg)
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--prefix <prefix>', 'key prefix for everything sent there')
    .option('--storage-class <class>', 'storage class, e.g. STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR')
    .option('--concurrency <n>', 'parts in flight to it', concurrencyArg)
    .addOption(new Option('--sse <mode>', 'server-side encryption').choices(['AES256', 'aws:kms']))
    .option('--sse-kms-key-id <id>', 'KMS key for --sse aws:kms')
    .addOption(ifExistsOption('default skip-identical; a folder or an upload may say otherwise'))
    .addOption(integrityOption())
    .option('--json', 'print the destination as JSON')
    .addHelpText(
      'after',
      '\nCredentials come from --profile (an AWS profile in ~/.aws) or, without it, the standard AWS chain.\n' +
        'The command line stores no secret keys: it cannot seal them with the system keychain as the desktop app does.\n' +
        'Example: hoist destinations add archive --bucket masters --endpoint https://s3.example.com --path-style --profile archive',
    )
    .action(async (name: string, o: DestinationFlags & { ifExists?: IfExistsPolicy; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const dest = await addNamedDestination(engine, globals(), name, o);
        if (o.json) printJson({ destination: dest });
        else process.stderr.write(`added destination ${destinationLine(dest, [])}\n`);
      });
    });

  destinations
    .command('list')
    .description('the destinations, with where their credentials come from and the folders that send to them')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const list = engine.store.listDestinations().map((d) => ({ ...d, folders: engine.folders.foldersOfDestination(d.id).map((f) => f.id) }));
        printList(o.json, 'destinations', list, (d) => destinationLine(d, d.folders), 'no destinations (add one with `hoist destinations add NAME --bucket B`)');
      });
    });

  destinations
    .command('remove')
    .description('remove a destination and its finished jobs; refused while a folder or an unfinished job uses it')
    .argument('<name>', 'its name', nameArg)
    .action(async (name: string) => {
      await withHoist(globals(), async ({ engine }) => {
        const dest = namedDestination(engine, name);
        if (dest.credentials === 'saved') {
          // Its sealed keys live in the app's keychain store; removed here they would be left behind.
          throw new HoistError('config.in-use', { message: `Destination "${name}" keeps credentials sealed by the desktop app; remove it in the app, so that its sealed keys go with it.` });
        }
        engine.removeDestination(dest.id);
        process.stderr.write(`removed destination ${name}\n`);
      });
    });
}
