// `hoist verify DIR --bucket B [--prefix P]` (or `--to NAME`): does the bucket hold every file's
// bytes? Answered without downloading anything (engine/remote/verify.ts); exits 0 only when every
// file is the same, the check a media team runs before wiping a drive.
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import { summarize, verifyFiles, type VerifiedFile } from '../engine/remote/verify.js';
import { destinationFor, namedDestination } from './destination-of.js';
import { EXIT_FAILED, EXIT_OK } from './exit-codes.js';
import { printJson } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

const SAID: Record<VerifiedFile['verdict'], string> = { same: 'same', differs: 'DIFFERS', missing: 'MISSING', 'cannot-tell': 'CANNOT TELL' };

function fileLine(f: VerifiedFile, bucket: string): string {
  return `${SAID[f.verdict].padEnd(12)} ${f.path}  s3://${bucket}/${f.key}  (${f.why})`;
}

export function registerVerifyCommand(program: Command, globals: Globals): void {
  program
    .command('verify')
    .description('say for every file whether the bucket holds the same bytes at its key (nothing is downloaded); exits 0 only if all are the same')
    .argument('<paths...>', 'files, or folders (their files recursively, each at PREFIX/PATH-UNDER-THE-FOLDER, as `hoist upload` puts them)')
    .option('--bucket <bucket>', 'the bucket (on the resolved endpoint)')
    .option('--to <name>', 'a named destination (its prefix counts), instead of --bucket')
    .option('--prefix <prefix>', 'key prefix, as given to `hoist upload`')
    .option('--key <key>', 'object key (one file only)')
    .option('--json', 'print every file and the totals as JSON')
    .action(async (paths: string[], o: { bucket?: string; to?: string; prefix?: string; key?: string; json?: boolean }) => {
      if ((o.bucket === undefined) === (o.to === undefined)) throw new HoistError('config.invalid', { message: 'Say where to look: --bucket BUCKET, or --to NAME for a named destination (not both).' });
      if (o.key !== undefined && o.prefix !== undefined) throw new HoistError('config.invalid', { message: 'Use --key or --prefix, not both.' });
      process.exitCode = await withHoist(globals(), async ({ engine }) => {
        const dest = o.to !== undefined ? namedDestination(engine, o.to) : await destinationFor(engine, globals(), { bucket: o.bucket! });
        const host = { clientFor: (d: typeof dest) => engine.clientFor(d), partSizesAt: (id: number, key: string) => engine.store.partSizesAt(id, key) };
        const files = await verifyFiles(host, dest, paths, { ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.key !== undefined ? { key: o.key } : {}) }, (f) => {
          if (!o.json) process.stdout.write(fileLine(f, dest.bucket) + '\n');
        });
        const summary = summarize(files);
        if (o.json) printJson({ bucket: dest.bucket, files, summary });
        else process.stdout.write(`${summary.files} file(s): ${summary.same} same, ${summary.differs} differ, ${summary.missing} missing, ${summary.cannotTell} cannot tell\n`);
        return summary.same === summary.files ? EXIT_OK : EXIT_FAILED;
      });
    });
}
