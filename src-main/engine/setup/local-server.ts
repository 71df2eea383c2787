// "Use a local test server" (issue 14): the checkout's own local S3 server (Ceph radosgw on
// loopback, scripts/s3-server.sh), started by the host for a newcomer's first destination and
// stopped with the host. Offered only when running from a checkout where `npm run setup`
// installed radosgw, never by the packaged app: `localServerScript` decides, and the host passes
// the answer in, so nothing a renderer sends can start a script.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoistError } from '../../../shared/errors.js';

/** The programs scripts/s3-server.sh needs, as its `install` checks them: all on the PATH, or it would apt-get them. */
export const LOCAL_SERVER_PROGRAMS = ['ceph', 'ceph-conf', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'uuidgen', 'curl', 'ss'] as const;

/** The checkout this module was built in (build/src-main/engine/setup/ → the repository). */
export const CHECKOUT_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** How long the server may take to start (the script's own deadline is 120 s). */
const START_TIMEOUT_MS = 180_000;
/** The first port tried; then every 7th, as scripts/with-s3.sh picks (the mon listens 10,000 above). */
const FIRST_PORT = 7480;

function onPath(program: string, pathEnv: string): boolean {
  return pathEnv.split(path.delimiter).some((dir) => {
    if (!dir) return false;
    try {
      fs.accessSync(path.join(dir, program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The checkout's scripts/s3-server.sh when this Hoist may offer the local test server: not packaged,
 * the script and radosgw-up.sh beside it present in `root` (a checkout), and every program the
 * script needs installed. Otherwise null.
 */
export function localServerScript(o: { packaged: boolean; root?: string; pathEnv?: string }): string | null {
  if (o.packaged) return null;
  const root = o.root ?? CHECKOUT_ROOT;
  const script = path.join(root, 'scripts', 's3-server.sh');
  for (const file of [script, path.join(root, 'scripts', 'radosgw', 'radosgw-up.sh'), path.join(root, 'package.json')]) {
    if (!fs.existsSync(file)) return null;
  }
  const pathEnv = o.pathEnv ?? process.env.PATH ?? '';
  return LOCAL_SERVER_PROGRAMS.every((p) => onPath(p, pathEnv)) ? script : null;
}

/** Where and how the started server answers. */
export interface LocalServerAccess {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The script's `export NAME=value` lines (values as printf %q leaves plain words and URLs). */
export function parseExports(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1').replace(/\\(.)/g, '$1');
  }
  return out;
}

/** One radosgw in one data folder (under the app-data folder), started and stopped through the checkout's script. */
export class LocalTestServer {
  private started = false;
  /** Stops the server if this process dies without down() (a SIGKILL, a crash): see watchOver(). */
  private watchdog: ChildProcess | null = null;

  constructor(
    private readonly script: string,
    readonly dataDir: string,
  ) {}

  /** Starts it (or finds it running: the script is idempotent) and says how to reach it. */
  async up(): Promise<LocalServerAccess> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    const port = await this.port();
    this.started = true;
    const { code, stdout, stderr } = await run('bash', [this.script, 'up', this.dataDir, String(port)], START_TIMEOUT_MS);
    const env = parseExports(stdout);
    if (code !== 0 || !env.S3_ENDPOINT || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) {
      const tail = stderr.trim().split('\n').slice(-4).join(' ');
      throw new HoistError('config.invalid', {
        message: `The local test server did not start (scripts/s3-server.sh up exited with ${code ?? 'a timeout'}). Its log is in ${path.join(this.dataDir, 'log')}.`,
        detail: tail,
      });
    }
    this.watchOver();
    return { endpoint: env.S3_ENDPOINT, region: env.S3_REGION ?? 'us-east-1', accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY };
  }

  /**
   * The server lives only as long as this host: a detached shell polls this process every second
   * and runs the script's `down` once it is gone, so a host killed with SIGKILL (or crashed) does
   * not leave three daemons and their memory behind. A clean stop kills the watchdog first.
   */
  private watchOver(): void {
    if (this.watchdog) return;
    const loop = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" down "$3"';
    this.watchdog = spawn('bash', ['-c', loop, 'hoist-local-server-watchdog', String(process.pid), this.script, this.dataDir], { detached: true, stdio: 'ignore', env: scriptEnv() });
    this.watchdog.unref();
  }

  /** Stops the daemons this host started (by the pids in its data folder), and waits for them: the host is stopping. */
  down(): void {
    if (!this.started) return;
    this.started = false;
    this.watchdog?.kill('SIGKILL');
    this.watchdog = null;
    spawnSync('bash', [this.script, 'down', this.dataDir], { stdio: 'ignore', timeout: START_TIMEOUT_MS, env: scriptEnv() });
  }

  /** The port it used before (its cluster is configured for it), else the first free one from 7480. */
  private async port(): Promise<number> {
    try {
      if (fs.existsSync(path.join(this.dataDir, 'ceph.conf'))) {
        const before = Number(fs.readFileSync(path.join(this.dataDir, 'run', 'rgw.port'), 'utf8').trim());
        if (Number.isInteger(before) && before > 0) return before;
      }
    } catch {
      // never started far enough to say: pick one
    }
    for (let port = FIRST_PORT; port + 10_000 < 65_536; port += 7) {
      if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
    }
    throw new HoistError('config.invalid', { message: 'No free port on 127.0.0.1 for the local test server.' });
  }
}

/** The host's environment without another cluster's settings (a shell that ran with-s3.sh exports its CEPH_CONF). */
function scriptEnv(): NodeJS.ProcessEnv {
  const { CEPH_CONF: _other, ...env } = process.env;
  return env;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, env: scriptEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
    child.once('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}\n${err.message}` }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
