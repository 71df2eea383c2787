// `hoist folders path`: where each machine of a shared queue sees a watched folder (issue 15,
// docs/architecture.md "The cluster"). A NAS mounted at /mnt/nas on one station and /Volumes/NAS on
// a Mac is one folder with a path per machine; a machine with no path does not watch it, and the
// folder's jobs go only to machines that see it.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import type { FolderPath } from '../engine/store/folder-paths.js';
import { folderIdArg } from './args.js';
import { printJson } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

export function registerFolderPathCommand(folders: Command, globals: Globals): void {
  folders
    .command('path')
    .description('where a machine sees a watched folder (a shared queue): with DIR, set it; with --remove, that machine no longer sees it; alone, list the machines that see it')
    .argument('<id>', 'folder id', folderIdArg)
    .argument('[dir]', 'the folder as this machine (or --machine) sees it')
    .option('--machine <name>', 'another machine than this one (HOIST_NODE_NAME, else the hostname)')
    .option('--remove', 'this machine (or --machine) no longer sees the folder: it stops watching it and its jobs go to the machines that do')
    .option('--json', 'machine-readable output')
    .action(async (id: number, dir: string | undefined, o: { machine?: string; remove?: boolean; json?: boolean }) => {
      if (dir !== undefined && o.remove) throw new HoistError('config.invalid', { message: 'Give a DIR to set where the folder is, or --remove, not both.' });
      await withHoist(globals(), async ({ engine }) => {
        const folder = engine.folders.getFolder(id);
        if (!folder) throw new HoistError('config.invalid', { message: `There is no watched folder ${id} (see \`hoist folders list\`).` });
        const machine = o.machine ?? engine.machine;
        if (dir !== undefined) {
          const abs = path.resolve(dir);
          // Only this machine's own path can be looked at here.
          if (machine === engine.machine && !fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) {
            throw new HoistError('config.invalid', { message: `${abs} is not a folder on this machine.` });
          }
          engine.folders.paths.set(id, machine, abs);
        } else if (o.remove && !engine.folders.paths.remove(id, machine)) {
          throw new HoistError('config.invalid', { message: `Folder ${id} has no path on ${machine}.` });
        }
        const seen = engine.folders.paths.of(id);
        if (o.json) printJson({ folderId: id, path: folder.sharedPath, machines: seen });
        else process.stdout.write(describe(id, folder.sharedPath, seen) + (engine.shared ? '' : 'This queue is one machine\'s (SQLite): it watches every folder at its own path; these paths apply once the queue is shared.\n'));
      });
    });
}

function describe(id: number, sharedPath: string, seen: readonly FolderPath[]): string {
  if (seen.length === 0) return `folder ${id} is seen by every machine at ${sharedPath} (no machine's path is set)\n`;
  return `folder ${id} is seen by ${seen.length} machine(s); any other does not watch it or send its files:\n${seen.map((p) => `  ${p.machine}  ${p.path}\n`).join('')}`;
}
