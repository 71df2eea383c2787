// Runs the real `hoist` command in a child process, as a user or a script would.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const HOIST_BIN = path.join(REPO, 'bin', 'hoist.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs hoist as root without the capabilities that override file permissions (tests run as root,
 * whom permissions do not stop otherwise): a chmod 000 then denies it, wherever the checkout lies.
 */
const DROPPED = '-dac_override,-dac_read_search';
export const WITHOUT_PERMISSION_OVERRIDE: readonly string[] = ['setpriv', `--inh-caps=${DROPPED}`, `--bounding-set=${DROPPED}`];

/**
 * A `hoist` process started; `stderrSoFar` is what it has written to stderr until now. `wrap`: a
 * command it runs under (WITHOUT_PERMISSION_OVERRIDE, `faketime -f -30m`, …).
 */
export function startHoist(args: string[], env: NodeJS.ProcessEnv = {}, wrap: readonly string[] = []): { child: ChildProcess; done: Promise<CliResult>; stderrSoFar(): string } {
  const [command, ...prefix] = [...wrap, process.execPath];
  const child = spawn(command!, [...prefix, HOIST_BIN, ...args], {
    env: { ...process.env, HOIST_RETRY_BASE_MS: '50', HOIST_RETRY_MAX_MS: '500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stderrSoFar: () => stderr };
}

export function hoist(args: string[], env: NodeJS.ProcessEnv = {}, wrap: readonly string[] = []): Promise<CliResult> {
  return startHoist(args, env, wrap).done;
}

/**
 * Runs `hoist …ARGS` (ARGS ending in `serve …`), hands `fn` the address it prints on stdout, then
 * stops it as Ctrl-C does (also when `fn` throws); resolves with how the process ended.
 */
export async function whileServing(args: string[], fn: (url: URL) => Promise<void>, timeoutMs = 60_000): Promise<CliResult> {
  const served = startHoist(args);
  let stdout = '';
  served.child.stdout!.on('data', (d) => (stdout += d));
  try {
    const end = Date.now() + timeoutMs;
    let address: string | undefined;
    while (!(address = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43})\n/.exec(stdout)?.[1])) {
      if (served.child.exitCode !== null || Date.now() > end) throw new Error(`hoist serve printed no address: ${stdout}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await fn(new URL(address));
  } finally {
    served.child.kill('SIGINT');
  }
  return served.done;
}
