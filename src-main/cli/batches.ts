// `hoist batches list|retry` and `hoist webhooks [retry]`: what the queue still owes after the uploads,
// the ASC MHL generations of batches and the webhook events, with their state.
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import { publicBatchOf } from '../engine/public-records.js';
import { jobIdArg } from './args.js';
import { batchLine, printJson, printList } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

export function registerBatchCommands(program: Command, globals: Globals): void {
  const batches = program.command('batches').description('ASC MHL batches: files sent together under one root, and the generation written for them');
  batches
    .command('list')
    .description('every batch, with its root, its files and the generation written (or owed)')
    .option('--json', 'machine-readable output (stable; see docs/cli.md)')
    .action(async (o: { json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        printList(o.json, 'batches', engine.listBatches(), batchLine, 'no ASC MHL batches', publicBatchOf);
      });
    });
  batches
    .command('retry')
    .description('write the generation of a batch whose write failed, again (`hoist run` writes it)')
    .argument('<id>', 'batch id', jobIdArg)
    .action(async (id: number) => {
      await withHoist(globals(), async ({ engine }) => {
        engine.retryBatch(id);
        process.stderr.write(`batch ${id} queued again; \`hoist run\` writes its generation\n`);
      });
    });

  const webhooks = program
    .command('webhooks')
    .description('webhook events: delivered, owed (with their next attempt and last error) and given up')
    .option('--owed', 'only the events not delivered yet')
    .option('--json', 'machine-readable output (stable; see docs/webhooks.md)')
    .action(async (o: { owed?: boolean; json?: boolean }) => {
      await withHoist(globals(), async ({ api }) => {
        const events = await api.listWebhookDeliveries(o.owed ?? false);
        if (o.json) printJson({ events });
        else if (events.length === 0) process.stdout.write(o.owed ? 'no webhook events owed\n' : 'no webhook events yet (set one with `hoist folders add --webhook URL` or `hoist folders webhook ID URL`)\n');
        else for (const e of events) process.stdout.write(`${e.state.padEnd(9)} ${e.kind.padEnd(10)} ${e.id}  ${e.url}  attempts ${e.attempts}${e.lastError ? `  (${e.lastError})` : ''}\n`);
      });
    });
  webhooks
    .command('retry')
    .description('send these events again now (given up or still owed), or with --given-up every event given up; the process that works the queue sends them')
    .argument('[ids...]', 'event ids (`hoist webhooks` lists them)')
    .option('--given-up', 'every event given up')
    .action(async (ids: string[], o: { givenUp?: boolean }) => {
      if (Boolean(o.givenUp) === (ids.length > 0)) throw new HoistError('config.invalid', { message: 'Name the events to retry, or pass --given-up (not both).' });
      await withHoist(globals(), async ({ api }) => {
        const n = await api.retryWebhookDeliveries(o.givenUp ? 'given-up' : ids);
        process.stderr.write(`${n} webhook event(s) queued again; \`hoist run\`, \`hoist watch\` or the app sends them\n`);
      });
    });
}
