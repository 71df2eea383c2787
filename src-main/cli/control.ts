// `hoist pause|resume|cancel|retry`: one job's (or every job's) course, changed through the
// database; the process that works the queue follows within a second.
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import type { Engine } from '../engine/engine.js';
import { jobIdArg } from './args.js';
import { EXIT_FAILED } from './exit-codes.js';
import { owedAbortText } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

export function registerControlCommands(program: Command, globals: Globals): void {
  const control = (name: string, description: string, act: (e: Engine, id: number | 'all') => number) =>
    program
      .command(name)
      .description(description)
      .argument('[id]', 'job id', jobIdArg)
      .option('--all', 'every job')
      .action(async (id: number | undefined, o: { all?: boolean }) => {
        if ((id === undefined) === !o.all) throw new HoistError('config.invalid', { message: `Give a job id or --all to ${name}.` });
        await withHoist(globals(), async ({ engine }) => {
          const n = act(engine, o.all ? 'all' : id!);
          process.stderr.write(`${name}: ${n} job(s)\n`);
          if (n === 0 && !o.all) process.exitCode = EXIT_FAILED;
        });
      });

  control('pause', 'pause a job, or --all (finished parts are kept; traffic stops within a second)', (e, id) => (id === 'all' ? e.pauseAll() : Number(e.pause(id))));
  control('resume', 'resume a paused job, or --all', (e, id) => (id === 'all' ? e.resumeAll() : Number(e.resume(id))));

  program
    .command('cancel')
    .description('cancel a job and abort its multipart upload on the server')
    .argument('<id>', 'job id', jobIdArg)
    .action(async (id: number) => {
      await withHoist(globals(), async ({ engine }) => {
        const ok = await engine.cancel(id);
        process.stderr.write(ok ? `cancelled job ${id}\n` : `job ${id} was already ${engine.getJob(id)?.state}\n`);
        const owed = engine.owedAborts(id);
        for (const a of owed) process.stderr.write(owedAbortText(a));
        if (!ok || owed.length > 0) process.exitCode = EXIT_FAILED;
      });
    });

  program
    .command('retry')
    .description('queue a failed job again (its finished parts are kept), or send again a done one flagged because its object was deleted or overwritten; --all-failed: every failed job')
    .argument('[id]', 'job id', jobIdArg)
    .option('--all-failed', 'every failed job')
    .action(async (id: number | undefined, o: { allFailed?: boolean }) => {
      if ((id === undefined) === !o.allFailed) throw new HoistError('config.invalid', { message: 'Give a job id or --all-failed to retry.' });
      await withHoist(globals(), async ({ engine }) => {
        if (id === undefined) {
          const { changed } = engine.commands.act({ filter: { states: ['failed'] } }, 'retry');
          process.stderr.write(`retry: ${changed.length} failed job(s) queued again; \`hoist run\` works the queue\n`);
          return;
        }
        engine.retry(id);
        process.stderr.write(`job ${id} queued again; \`hoist run\` works the queue\n`);
      });
    });
}
