// `hoist copy s3://B/K s3://B2/K2`: a server-side copy (CopyObject up to 5 GiB, parallel
// UploadPartCopy ranges above), with the other bucket-side commands' destinations and credentials.
import type { Command } from 'commander';
import { copyObject, type ObjectRef } from '../engine/remote/copy.js';
import type { Engine } from '../engine/engine.js';
import type { Destination } from '../../shared/types.js';
import { formatBytes } from '../engine/upload/part-plan.js';
import { intArg, parseS3Url, sizeArg } from './args.js';
import { destinationFor } from './destination-of.js';
import { owedAbortText, printJson } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

export function registerCopyCommand(program: Command, globals: Globals): void {
  program
    .command('copy')
    .description('copy an object server-side (CopyObject up to 5 GiB, parallel UploadPartCopy ranges above)')
    .argument('<source>', 's3://BUCKET/KEY', parseS3Url)
    .argument('<target>', 's3://BUCKET/KEY', parseS3Url)
    .option('--part-size <size>', 'range size above the threshold (default 512MiB)', sizeArg)
    .option('--multipart-threshold <size>', 'objects above this are copied in ranges (default and maximum 5GiB)', sizeArg)
    .option('--concurrency <n>', 'ranges copied at once (default 8)', intArg(1, 10_000))
    .option('--json', 'print the result as JSON')
    .action(async (source: ObjectRef, target: ObjectRef, o: { partSize?: number; multipartThreshold?: number; concurrency?: number; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const client = await engine.clientFor(await destinationFor(engine, globals(), { bucket: source.bucket }));
        const to = await destinationFor(engine, globals(), { bucket: target.bucket });
        let made: string | null = null;
        const r = await copyObject(client, source, target, {
          ...(o.partSize !== undefined ? { partSize: o.partSize } : {}),
          ...(o.multipartThreshold !== undefined ? { multipartThreshold: o.multipartThreshold } : {}),
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
          onCreated: (uploadId) => (made = uploadId),
        }).catch(async (err: unknown) => {
          if (made) await abandon(engine, to, target, made);
          throw err;
        });
        if (o.json) printJson({ source, target, ...r });
        else process.stderr.write(`copied ${formatBytes(r.size)} server-side to s3://${target.bucket}/${target.key} (${r.mode === 'single' ? 'CopyObject' : `${r.parts} UploadPartCopy ranges`}; ETag ${r.etag}${r.versionId ? `, version ${r.versionId}` : ''})\n`);
      });
    });
}

/** A copy that failed left its multipart upload: its abort is owed (invariant 4) and sent now; said if it is still owed. */
async function abandon(engine: Engine, dest: Destination, target: ObjectRef, uploadId: string): Promise<void> {
  engine.store.queueRemoteAbort({ destinationId: dest.id, bucket: target.bucket, key: target.key, uploadId, jobId: null, reason: 'server-side copy failed' });
  for (const a of await engine.settleOwedAborts()) if (a.uploadId === uploadId) process.stderr.write(owedAbortText(a));
}
