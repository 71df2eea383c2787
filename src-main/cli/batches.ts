// `hoist batches list|retry` and `hoist webhooks`: what the queue still owes after the uploads,
// the ASC MHL generations of batches and the webhook events, with their state.
import type { Command } from 'commander';
import { publicBatchOf } from '../engine/api.js';
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

  program
    .command('webhooks')
    .description('webhook events: delivered, owed (with their next attempt and last error) and given up')
    .option('--owed', 'only the events not delivered yet')
    .option('--json', 'machine-readable output (stable; see docs/webhooks.md)')
    .action(async (o: { owed?: boolean; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        const items = engine.webhooks.outbox.all().filter((i) => !o.owed || (i.deliveredAt === null && i.givenUpAt === null));
        const state = (i: (typeof items)[number]) => (i.deliveredAt !== null ? 'delivered' : i.givenUpAt !== null ? 'given-up' : 'owed');
        const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
        if (o.json) {
          const events = items.map((i) => ({ id: i.id, kind: i.kind, url: i.url, state: state(i), attempts: i.attempts, createdAt: iso(i.createdAt), deliveredAt: iso(i.deliveredAt), nextAttemptAt: state(i) === 'owed' ? iso(Math.max(i.availableAt, i.createdAt)) : null, lastError: i.lastError }));
          printJson({ events });
        } else if (items.length === 0) process.stdout.write(o.owed ? 'no webhook events owed\n' : 'no webhook events yet (set one with `hoist folders add --webhook URL` or `hoist folders webhook ID URL`)\n');
        else for (const i of items) process.stdout.write(`${state(i).padEnd(9)} ${i.kind.padEnd(10)} ${i.id}  ${i.url}  attempts ${i.attempts}${i.lastError ? `  (${i.lastError})` : ''}\n`);
      });
    });
}
