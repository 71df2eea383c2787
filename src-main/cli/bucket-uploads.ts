// `hoist uploads list|parts|abort|adopt|abort-orphans|lifecycle`: the multipart uploads a bucket holds,
// whether a job of ours owns them or not (orphans are billed until aborted).
import type { Command } from 'commander';
import { MAX_LIFECYCLE_DAYS, MIN_LIFECYCLE_DAYS } from '../../shared/records.js';
import { adoptionSummary } from '../engine/rebuild-summary.js';
import { installAbortIncompleteRule, readLifecycleRules, summarizeAbortIncomplete, type AbortIncompleteRule, type AbortIncompleteSummary } from '../engine/remote/lifecycle.js';
import { fromErrorInfo } from '../engine/s3/errors.js';
import { formatAge, intArg, parseAge } from './args.js';
import { destinationFor } from './destination-of.js';
import { EXIT_FAILED } from './exit-codes.js';
import { owedAbortText, printJson, printList, uploadLine } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

const pageSizeArg = intArg(1, 1000);
const daysArg = intArg(MIN_LIFECYCLE_DAYS, MAX_LIFECYCLE_DAYS);

function ruleText(r: AbortIncompleteRule): string {
  const where = r.prefix ? `under ${r.prefix}` : 'anywhere in the bucket';
  return `${r.id ?? '(no id)'}: incomplete uploads ${where} are aborted ${r.days} day${r.days === 1 ? '' : 's'} after they begin${r.enabled ? '' : ' (disabled)'}`;
}

function lifecycleLines(s: AbortIncompleteSummary): string[] {
  const lines = [s.rule ? `s3://${s.bucket}: Hoist's rule ${ruleText(s.rule)}` : `s3://${s.bucket}: no Hoist rule (\`hoist uploads lifecycle --bucket ${s.bucket} --days N\` sets one)`];
  for (const r of s.others) lines.push(`  another rule, ${ruleText(r)}`);
  lines.push(`  the bucket has ${s.rules} lifecycle rule${s.rules === 1 ? '' : 's'} in all`);
  return lines;
}

export function registerBucketUploadCommands(program: Command, globals: Globals): void {
  const uploads = program.command('uploads').description('multipart uploads in progress on a bucket');

  uploads
    .command('list')
    .description('every in-progress multipart upload (all pages), marked as a job of ours or an orphan')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--prefix <prefix>', 'only keys under this prefix', '')
    .option('--page-size <n>', 'uploads per ListMultipartUploads page', pageSizeArg)
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; prefix: string; pageSize?: number; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const list = await engine.listUploads(await destinationFor(engine, globals(), o), o.prefix, o.pageSize);
        printList(o.json, 'uploads', list, uploadLine, 'no multipart uploads in progress');
      });
    });

  uploads
    .command('parts')
    .description('the parts the server holds for one upload (all pages)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .requiredOption('--key <key>', 'object key')
    .requiredOption('--upload-id <id>', 'upload id')
    .option('--page-size <n>', 'parts per ListParts page', pageSizeArg)
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; key: string; uploadId: string; pageSize?: number; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const parts = await engine.listRemoteParts(await destinationFor(engine, globals(), o), o.key, o.uploadId, o.pageSize);
        if (o.json) printJson({ parts });
        else for (const p of parts) process.stdout.write(`${String(p.partNumber).padStart(5)}  ${String(p.size).padStart(12)}  ${p.etag}  ${p.lastModified ?? ''}${p.checksum ? `  ${p.checksumAlgorithm}:${p.checksum}` : ''}\n`);
      });
    });

  uploads
    .command('abort')
    .description('abort one multipart upload (a job that owns it is cancelled)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .requiredOption('--key <key>', 'object key')
    .requiredOption('--upload-id <id>', 'upload id')
    .action(async (o: { bucket: string; key: string; uploadId: string }) => {
      await withHoist(globals(), async ({ engine }) => {
        const owed = await engine.abortUpload(await destinationFor(engine, globals(), o), o.key, o.uploadId);
        if (!owed) process.stderr.write(`aborted ${o.uploadId}\n`);
        else {
          process.stderr.write(owedAbortText(owed));
          process.exitCode = EXIT_FAILED;
        }
      });
    });

  uploads
    .command('adopt')
    .description('take up uploads no job owns whose keys map to watched files (done by itself after a database rebuild)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const report = await engine.adoptUploads(await destinationFor(engine, globals(), o));
        if (report.error) throw fromErrorInfo(report.error);
        if (o.json) printJson(report);
        else for (const line of adoptionSummary([report])) process.stderr.write(`${line}\n`);
        if (!o.json && report.adopted.length === 0 && report.left.length === 0) process.stderr.write('no upload in progress without a job\n');
      });
    });

  uploads
    .command('lifecycle')
    .description("show the bucket's rule that aborts incomplete multipart uploads, or with --days set Hoist's (the bucket's other rules are kept)")
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--days <n>', 'abort incomplete uploads this many days after they begin (1 to 3650)', daysArg)
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; days?: number; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const client = await engine.clientFor(await destinationFor(engine, globals(), o));
        if (o.days !== undefined) await installAbortIncompleteRule(client, o.bucket, o.days);
        const summary = summarizeAbortIncomplete(o.bucket, await readLifecycleRules(client, o.bucket));
        if (o.json) printJson(summary);
        else for (const line of lifecycleLines(summary)) process.stdout.write(`${line}\n`);
      });
    });

  uploads
    .command('abort-orphans')
    .description('abort every upload that no live Hoist job owns and that began at least --older-than ago (24h by default)')
    .requiredOption('--bucket <bucket>', 'bucket')
    .option('--prefix <prefix>', 'only keys under this prefix', '')
    .option('--older-than <age>', 'only uploads begun at least this long ago (7d, 12h, 30m, 45s; 0s: all); default 24h', parseAge)
    .option('--page-size <n>', 'uploads per ListMultipartUploads page', pageSizeArg)
    .option('--json', 'machine-readable output')
    .action(async (o: { bucket: string; prefix: string; olderThan?: number; pageSize?: number; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const r = await engine.abortOrphans(await destinationFor(engine, globals(), o), {
          prefix: o.prefix,
          ...(o.olderThan !== undefined ? { olderThanMs: o.olderThan } : {}),
          ...(o.pageSize ? { pageSize: o.pageSize } : {}),
        });
        if (o.json) printJson(r);
        else {
          process.stderr.write(`aborted ${r.aborted.length} orphan upload(s); kept ${r.kept.length}\n`);
          if (r.spared > 0) process.stderr.write(`spared ${r.spared} orphan upload(s) begun less than ${formatAge(r.minAgeMs)} ago (another client may still be sending them; --older-than 0s aborts them too)\n`);
        }
      });
    });
}
