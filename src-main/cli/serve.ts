// `hoist serve`: the desktop app without Electron. Works the queue and the watch folders, and
// serves the UI on 127.0.0.1 behind a token, until Ctrl-C, which pauses cleanly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import type { ServedRuntime } from '../hosts/headless/serve.js';
import { CredentialSource } from '../engine/s3/connection.js';
import { checkRoots, defaultRoots } from '../engine/sources/roots.js';
import { collect, portArg } from './args.js';
import { EXIT_OK } from './exit-codes.js';
import { announce, closingAfter, runtimeOptionsOf, type GlobalOpts, type Globals } from './with-hoist.js';

/** Where `npm run build` puts the renderer, next to the compiled src-main. */
export const RENDERER_DIR = fileURLToPath(new URL('../../renderer/', import.meta.url));

/**
 * Opens the address in the default browser without putting the token on a command line (which
 * other users of the machine can read): the opener gets a private file that redirects to it.
 */
function openInBrowser(url: string): () => void {
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-open-'));
    const page = path.join(dir, 'open.html');
    fs.writeFileSync(page, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><title>Hoist</title>`, { mode: 0o600 });
    const [command, args] =
      process.platform === 'darwin' ? ['open', [page]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', page]] : ['xdg-open', [page]];
    const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined); // no browser here: the printed address still works
    child.unref();
  } catch {
    return () => undefined;
  }
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Everything `hoist serve` starts, in one place: the runtime (the queue's runner and the folder
 * watcher under the runner lease, the API, the log file) and the headless host over its API. When
 * another process works the queue, this one serves commands and takes over when that one stops.
 */
async function startServing(g: GlobalOpts, port: number | undefined, roots: string[]): Promise<ServedRuntime> {
  // Loaded here, not with the command line: every other command paid for the host's modules (the
  // HTTP and WebSocket server, zod's schemas, mime-types, the first-run setup), measured with
  // importing cli/main.js (docs/performance.md, "Before the first byte").
  const [{ serveRuntime }, { firstRunWiring }] = await Promise.all([import('../hosts/headless/serve.js'), import('../engine/setup/setup-service.js')]);
  // Opened without the lease, so the listeners below hear the first walk and the first answer.
  const options = await runtimeOptionsOf(g);
  // The folders the UI may list and send files from.
  options.api = { ...options.api, roots };
  // A first run: the checkout's local test server may be offered; its destination gets its keys.
  const firstRun = firstRunWiring({ dbPath: options.dbPath, packaged: false });
  options.engine = { ...options.engine, credentials: new CredentialSource(firstRun.secrets) };
  options.api.setup = firstRun.setup;
  const served = await serveRuntime({ ...options, work: false, wait: true, staticDir: RENDERER_DIR, ...(port !== undefined ? { port } : {}) }).catch((err: NodeJS.ErrnoException) => {
    // The runtime is already closed behind the error.
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      throw new HoistError('config.invalid', { message: `Port ${port} cannot be used (${err.code === 'EADDRINUSE' ? 'another program listens there' : 'not permitted'}); choose another with --port, or 0 for any free port.` });
    }
    throw err;
  });
  const rt = served.runtime;
  try {
    announce(rt);
    rt.folders.on('skipped', (s) => process.stderr.write(`hoist: skipped ${s.path}: ${s.message}\n`));
    rt.folders.on('notice', (n) => process.stderr.write(`hoist: folder ${n.folderId}: ${n.message}\n`));
    let waited = false;
    rt.on('state', (s) => {
      if (s.state === 'waiting') process.stderr.write(`hoist: the queue is worked by Hoist pid ${s.pid} on ${s.host}; this UI commands it, but live progress and watch folders run in that process until it stops.\n`);
      else if (s.state === 'working' && waited) process.stderr.write('hoist: the other process stopped; this one now works the queue and watches the folders.\n');
      waited = s.state === 'waiting';
    });
    await rt.start();
  } catch (err) {
    await served.close();
    throw err;
  }
  return served;
}

export function registerServeCommand(program: Command, globals: Globals): void {
  program
    .command('serve')
    .description('serve the Hoist UI on 127.0.0.1 (behind a token it prints) and work the queue, until Ctrl-C')
    .option('--port <n>', 'port to listen on (default: any free port)', portArg)
    .option('--open', 'open the address in the default browser')
    .option('--root <dir>', "a folder the UI may list and send files from (repeatable; default: the user's home); nothing outside the roots is listed or queued", collect, [])
    .action(async (o: { port?: number; open?: boolean; root: string[] }) => {
      const roots = o.root.length > 0 ? checkRoots(o.root) : defaultRoots();
      const served = await startServing(globals(), o.port, roots);
      await closingAfter(served.close, async (scope) => {
        if (!fs.existsSync(path.join(RENDERER_DIR, 'index.html'))) process.stderr.write(`hoist: the UI is not built (${RENDERER_DIR}); run \`npm run build\`.\n`);
        // The address alone on stdout, so a script can read it; the rest goes to stderr.
        process.stdout.write(`${served.host.url}\n`);
        process.stderr.write('Hoist is serving its UI at the address above (this machine only). Ctrl-C stops; uploads pause and resume at the next start.\n');
        process.stderr.write(`Files may be sent from: ${roots.join(', ')} (--root to change).\n`);
        const forgetOpener = o.open ? openInBrowser(served.host.url) : () => undefined;
        // Ctrl-C is how serving ends (exit 0): the host stops (tabs are told), then the runtime.
        scope.onInterrupt(async (signal) => {
          process.stderr.write(`hoist: ${signal}: stopping cleanly.\n`);
          forgetOpener();
          await served.close();
        }, EXIT_OK);
        // Runs until then: the server keeps the process alive.
        await new Promise<never>(() => undefined);
      });
    });
}
