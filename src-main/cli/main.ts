// The `hoist` command: drives the engine from a terminal or a script. This file is the entry
// (bin/hoist.js runs main()): the global options, one register call per command group, and how a
// failure becomes `hoist: CODE: message` and an exit status (exit-codes.ts).
import { Command } from 'commander';
import { logFilePath } from '../engine/log-file.js';
import { registerBatchCommands } from './batches.js';
import { registerBucketUploadCommands } from './bucket-uploads.js';
import { registerControlCommands } from './control.js';
import { registerCopyCommand } from './copy.js';
import { registerDestinationCommands } from './destinations.js';
import { registerDiagnosticsCommand } from './diagnostics.js';
import { failureOf } from './exit-codes.js';
import { registerFolderCommands } from './folders.js';
import { registerLogsCommand } from './logs.js';
import { registerNodesCommand } from './nodes.js';
import { registerPaceCommands } from './pace.js';
import { registerServeCommand } from './serve.js';
import { registerUploadCommands } from './upload.js';
import { registerVerifyCommand } from './verify.js';
import { registerWatchCommand } from './watch.js';
import { dbPathOf, type GlobalOpts } from './with-hoist.js';

export function buildProgram(): Command {
  const program = new Command('hoist')
    .description('Moves large media files into Amazon S3 or any S3-compatible store, with resumable multipart uploads.')
    .option('--db <path>', 'job database: a SQLite file or a postgres:// URL (default: $HOIST_DB or the application-data folder)')
    .option('--endpoint <url>', 'S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile)')
    .option('--region <region>', 'region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)')
    .option('--profile <name>', 'AWS profile for credentials and settings (default: AWS_PROFILE)')
    .option('--path-style', 'path-style addressing (http://host/bucket/key), as most S3-compatible servers want')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOpts => program.opts<GlobalOpts>();
  // Where to look when something went wrong: the log file, beside the job database.
  program.addHelpText('after', () => `\nLog file: ${logFilePath(dbPathOf(globals()))} (\`hoist logs\` prints it; \`hoist logs --follow\` shows what is written).\n`);

  registerUploadCommands(program, globals); //      upload, run, jobs, job
  registerControlCommands(program, globals); //     pause, resume, cancel, retry
  registerBatchCommands(program, globals); //       batches, webhooks
  registerBucketUploadCommands(program, globals); // uploads (bucket-side)
  registerCopyCommand(program, globals); //         copy
  registerVerifyCommand(program, globals); //       verify
  registerDestinationCommands(program, globals); // destinations
  registerFolderCommands(program, globals); //      folders
  registerWatchCommand(program, globals); //        watch
  registerPaceCommands(program, globals); //        limit, tune
  registerServeCommand(program, globals); //        serve
  registerLogsCommand(program, globals); //         logs
  registerDiagnosticsCommand(program, globals); //  diagnostics
  registerNodesCommand(program, globals, (rt) => rt.engine); // nodes (a shared queue)
  return program;
}

/** Runs the command line; every failure becomes `hoist: CODE: message` and a non-zero status. */
export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const { status, message } = failureOf(err);
    if (message) process.stderr.write(message);
    process.exitCode = status;
  }
}
