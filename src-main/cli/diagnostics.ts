// `hoist diagnostics`: the file to send with a problem report (engine/support/diagnostics.ts): the
// logs, versions, destinations and settings without their secrets, and the last 1,000 job events.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { logFilePath } from '../engine/log-file.js';
import { printJson } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

export function registerDiagnosticsCommand(program: Command, globals: Globals): void {
  program
    .command('diagnostics')
    .description('write a .tar.gz to send with a problem report: logs, versions, destinations and settings (no secrets), the last 1,000 job events')
    .option('--out <file>', 'where to write it (default: hoist-diagnostics-<time>.tar.gz in the current folder)')
    .option('--json', 'print { file, bytes } as JSON')
    .action(async (o: { out?: string; json?: boolean }) => {
      await withHoist(globals(), async (rt) => {
        // Loaded when asked for (with its tar writer), not with every command.
        const { diagnosticsArchive } = await import('../engine/support/diagnostics.js');
        const archive = await diagnosticsArchive(rt.engine, { logFile: rt.logPath ?? logFilePath(rt.dbPath), host: 'cli' });
        const file = path.resolve(o.out ?? archive.fileName);
        // Only its owner may read it: it holds file names, bucket names and logs.
        fs.writeFileSync(file, archive.data, { mode: 0o600 });
        if (o.json) printJson({ file, bytes: archive.data.length });
        else process.stdout.write(`${file}\n`);
      });
    });
}
