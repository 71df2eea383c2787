// "Export diagnostics" and `hoist diagnostics` (issue 14): one .tar.gz a user sends with a problem
// report, holding the log files, the versions (Hoist, Node, Electron when present, the OS, the AWS
// SDK, SQLite), the destinations and settings, what is owed, the batches, the webhook deliveries and
// the last 1,000 job events, with every secret taken out (support/redact.ts): the saved credentials
// and the environment's secret key and session token (known values, replaced wherever they appear,
// a log line included), the folders' webhook signing secrets, passwords in URLs, webhook URLs'
// paths and queries. Structured fields are cleaned where they are built, then every file's whole
// text goes through the redactor once more before it is packed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Destination } from '../../../shared/types.js';
import { APP_NAME, APP_VERSION } from '../app-info.js';
import type { FolderRecord, FolderStore } from '../store/folder-store.js';
import { DiagnosticsRows } from '../store/diagnostics-rows.js';
import type { BatchRecord } from '../store/batch-store.js';
import type { JobStore } from '../store/job-store.js';
import type { OutboxStore } from '../store/outbox-store.js';
import type { PacingStore } from '../store/pacing-store.js';
import type { SecretStore } from '../secrets.js';
import type { WebhookSecrets } from '../notify/webhook-secrets.js';
import { batchStatusOf } from '../records/batch-entries.js';
import { webhookDeliveries } from '../records/webhook-deliveries.js';
import { Redactor, urlOrigin } from './redact.js';
import { tarGz, type TarEntry } from './tar.js';

/** Job events a diagnostics file carries (the latest). */
export const DIAGNOSTICS_EVENTS = 1000;
/** Of each log file, at most its last this many bytes. */
const LOG_TAIL_BYTES = 8 * 1024 * 1024;
/** Environment variables shown with their values; other AWS_* and HOIST_* ones are named only (set or not). */
const ENV_SHOWN = /^(HOIST_(?!.*(SECRET|TOKEN|PASSWORD|KEY))[A-Z0-9_]+|AWS_REGION|AWS_DEFAULT_REGION|AWS_PROFILE|AWS_ENDPOINT_URL(_S3)?|AWS_CA_BUNDLE|AWS_CONFIG_FILE|AWS_SHARED_CREDENTIALS_FILE)$/;

/** What a diagnostics file reads of the engine (the Engine satisfies it). */
export interface DiagnosticsEngine {
  readonly store: Pick<JobStore, 'db' | 'listDestinations' | 'totals' | 'owed' | 'sendDefaults'>;
  readonly folders: Pick<FolderStore, 'listFolders'>;
  readonly pacing: Pick<PacingStore, 'bandwidthLimits' | 'concurrencyBounds'>;
  readonly webhooks: { readonly secrets: Pick<WebhookSecrets, 'current'>; readonly outbox: Pick<OutboxStore, 'all'> };
  listBatches(): BatchRecord[];
}

export interface DiagnosticsOptions {
  /** The log file this process writes; it and its rotated files (`hoist.log.1` …) go in. */
  logFile: string;
  /** The host's saved credentials: their values are taken out wherever they appear. */
  secrets?: SecretStore;
  env?: NodeJS.ProcessEnv;
  /** Which host made it: `desktop`, `serve`, `cli`. */
  host?: string;
  now?: Date;
}

export interface DiagnosticsFile {
  fileName: string;
  data: Buffer;
}

function sdkVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    let dir = path.dirname(require.resolve('@aws-sdk/client-s3'));
    for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!fs.existsSync(file)) continue;
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@aws-sdk/client-s3') return pkg.version ?? null;
    }
  } catch {
    // Not resolvable (a bundled build): said as unknown.
  }
  return null;
}

function destinationOf(d: Destination) {
  // Every field but the endpoint is a setting, not a secret; an endpoint may carry a password.
  return { ...d, endpoint: d.endpoint === null ? null : urlWithoutPassword(d.endpoint) };
}

function urlWithoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '[redacted]';
    return u.toString();
  } catch {
    return url;
  }
}

function folderOf(f: FolderRecord) {
  return { ...f, webhookUrl: f.webhookUrl === null ? null : urlOrigin(f.webhookUrl) };
}

function tail(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const from = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - from);
    const n = fs.readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** The log file and its rotated files, newest first. */
function logFiles(logFile: string): string[] {
  const dir = path.dirname(logFile);
  const base = path.basename(logFile);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n === base || n.startsWith(`${base}.`)).sort().map((n) => path.join(dir, n));
}

/** Every value Hoist knows to be secret, to be replaced wherever it appears. */
async function knownSecrets(engine: DiagnosticsEngine, folders: readonly FolderRecord[], o: DiagnosticsOptions, env: NodeJS.ProcessEnv): Promise<Redactor> {
  const r = new Redactor();
  r.secret(env.AWS_SECRET_ACCESS_KEY).secret(env.AWS_SESSION_TOKEN).secret(env.AWS_SECURITY_TOKEN);
  for (const d of engine.store.listDestinations()) {
    const saved = await o.secrets?.get(d.id).catch(() => null);
    r.secret(saved?.secretAccessKey).secret(saved?.sessionToken);
    if (d.endpoint) {
      try {
        r.secret(decodeURIComponent(new URL(d.endpoint).password));
      } catch {
        // not a URL: nothing to take out
      }
    }
  }
  for (const f of folders) {
    r.secret(engine.webhooks.secrets.current(f.id));
    r.webhookUrl(f.webhookUrl);
  }
  for (const e of engine.webhooks.outbox.all()) r.webhookUrl(e.url);
  return r;
}

/** Builds the diagnostics file. */
export async function diagnosticsArchive(engine: DiagnosticsEngine, o: DiagnosticsOptions): Promise<DiagnosticsFile> {
  const env = o.env ?? process.env;
  const now = o.now ?? new Date();
  const rows = new DiagnosticsRows(engine.store.db);
  const folders = engine.folders.listFolders();
  const redactor = await knownSecrets(engine, folders, o, env);
  const environment = Object.fromEntries(
    Object.keys(env)
      .filter((k) => /^(AWS|HOIST)_/.test(k))
      .sort()
      .map((k) => [k, ENV_SHOWN.test(k) ? env[k] : '(set)']),
  );
  const summary = {
    createdAt: now.toISOString(),
    host: o.host ?? null,
    versions: {
      app: `${APP_NAME} ${APP_VERSION}`,
      node: process.versions.node,
      electron: process.versions.electron ?? null,
      chrome: process.versions.chrome ?? null,
      os: { platform: process.platform, type: os.type(), release: os.release(), version: os.version(), arch: process.arch },
      awsSdk: sdkVersion(),
      sqlite: rows.sqliteVersion(),
    },
    logFile: o.logFile,
    environment,
    destinations: engine.store.listDestinations().map(destinationOf),
    folders: folders.map(folderOf),
    settings: {
      bandwidthLimits: engine.pacing.bandwidthLimits(),
      concurrencyBounds: engine.pacing.concurrencyBounds(),
      sendDefaults: engine.store.sendDefaults.list(),
    },
    totals: engine.store.totals(),
    owedWork: engine.store.owed.counts(),
    batches: engine.listBatches().map((b) => ({ id: b.id, destinationId: b.destinationId, root: b.root, state: batchStatusOf(b), attempts: b.attempts, manifestKey: b.manifestKey, jobs: b.jobs, error: b.error })),
    webhooks: webhookDeliveries(engine.webhooks.outbox.all()).map((d) => ({ ...d, url: urlOrigin(d.url) })),
  };
  const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2) + '\n');
  const entries: TarEntry[] = [
    { name: 'diagnostics.json', data: json(summary), mtime: now },
    { name: 'job-events.json', data: json({ events: rows.recentJobEvents(DIAGNOSTICS_EVENTS) }), mtime: now },
  ];
  for (const file of logFiles(o.logFile)) {
    entries.push({ name: `logs/${path.basename(file)}`, data: tail(file, LOG_TAIL_BYTES), mtime: fs.statSync(file).mtime });
  }
  // Everything once more, whole: a secret in a log line or an error message goes too.
  const clean = entries.map((e) => ({ ...e, data: Buffer.from(redactor.text(e.data.toString('utf8'))) }));
  const stamp = now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
  return { fileName: `hoist-diagnostics-${stamp}.tar.gz`, data: tarGz(clean) };
}
