// How the `hoist` command shows jobs and progress: a live bar on a terminal, plain lines otherwise.
import { uploadKeptNote } from '../../shared/kept-upload.js';
import type { JobProgress, MhlBatch, RemoteUpload } from '../../shared/types.js';
import type { JobRecord, RemoteAbort } from '../engine/store/job-store.js';
import { formatBytes } from '../engine/upload/part-plan.js';

/** The stable `--json` shape of a job: the shared Job contract, without internal columns (the same as the hosts show). */
export { publicJobOf as publicJob } from '../engine/api.js';

export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** What a done job did at its key, and what a queued one waits for, in words (nothing for the ordinary cases). */
function keyNote(j: JobRecord): string {
  if (j.state === 'queued' && j.waitingFor !== null) return `  waits for job ${j.waitingFor} (same key: one writer at a time)`;
  if (j.outcome === 'already-there') return '  already in the bucket: nothing sent';
  if (j.outcome === 'replaced') return '  replaced the object that was there';
  if (j.outcome === 'kept-both') return '  kept both: the key held other bytes';
  return '';
}

export function jobLine(j: JobRecord): string {
  const pct = j.size > 0 && j.outcome !== 'already-there' ? ((100 * j.bytesDone) / j.size).toFixed(1) : j.state === 'done' ? '100.0' : '0.0';
  const err = j.error && j.state !== 'done' ? `  ${j.error.code}${j.error.operation ? ` (${j.error.operation})` : ''}: ${j.error.message}` : '';
  const priority = j.priority !== 'normal' ? `  ${j.priority} priority` : '';
  const flag = j.flag ? `  flagged ${j.flag.code}: source kept (hoist job ${j.id})` : '';
  const kept = j.uploadKept ? `\n      ${uploadKeptNote(j)}` : '';
  // A shared queue (issue 15): which process works it.
  const node = j.node ? `  on ${j.node.host} pid ${j.node.pid}` : '';
  return `${String(j.id).padStart(4)}  ${j.state.padEnd(10)} ${pct.padStart(5)}%  ${formatBytes(j.size).padStart(9)}  ${j.partsDone}/${j.partCount} parts  s3://${j.bucket}/${j.key}  [${j.destination}]${node}${priority}${keyNote(j)}${err}${flag}${kept}`;
}

/** What `hoist upload` and `hoist run` say at the end (`summary` in their --json; docs/cli.md). */
export interface RunSummary {
  jobs: number;
  /** Done by sending the file (created, replaced, kept both, or sent without looking). */
  uploaded: number;
  /** Done without sending: the bucket already held the file's bytes. */
  alreadyThere: number;
  failed: number;
  cancelled: number;
}

export function summaryOf(jobs: readonly JobRecord[]): RunSummary {
  const count = (p: (j: JobRecord) => boolean) => jobs.filter(p).length;
  return {
    jobs: jobs.length,
    uploaded: count((j) => j.state === 'done' && j.outcome !== 'already-there'),
    alreadyThere: count((j) => j.state === 'done' && j.outcome === 'already-there'),
    failed: count((j) => j.state === 'failed'),
    cancelled: count((j) => j.state === 'cancelled'),
  };
}

export function summaryLine(s: RunSummary): string {
  const rest = [s.failed ? `${s.failed} failed` : '', s.cancelled ? `${s.cancelled} cancelled` : ''].filter(Boolean);
  return `${s.jobs} file(s): ${s.uploaded} uploaded, ${s.alreadyThere} already in the bucket${rest.length ? `, ${rest.join(', ')}` : ''}`;
}

export function batchLine(b: MhlBatch): string {
  const where = `s3://${b.bucket}/${b.keyPrefix}ascmhl/`;
  const what =
    b.state === 'written'
      ? b.generation !== null ? `generation ${String(b.generation).padStart(4, '0')} written to s3://${b.bucket}/${b.manifestKey}` : 'nothing arrived: no generation written'
      : b.state === 'failed'
        ? `generation not written to ${where}: ${b.error?.code}: ${b.error?.message}`
        : `${b.state}: generation owed to ${where}`;
  return `batch ${b.id}  ${b.root}  (${b.jobs} file(s))  ${what}`;
}

export function uploadLine(u: RemoteUpload): string {
  return `${(u.jobId === null ? 'orphan' : `job ${u.jobId}`).padEnd(9)} ${u.initiated ?? '-'}  s3://${u.bucket}/${u.key}  ${u.uploadId}`;
}

/** An upload left on the server because its abort was refused or could not reach it: said plainly, with what the server said. */
export function owedAbortText(a: RemoteAbort): string {
  return (
    `hoist: the multipart upload ${a.uploadId} (s3://${a.bucket}/${a.key}${a.jobId ? `, job ${a.jobId}` : ''}, ${a.reason}) is not aborted yet: ${a.lastError ?? 'not tried yet'}\n` +
    '  Its parts stay on the server (and are billed) until then; Hoist tries again whenever it works the queue (hoist run, hoist watch, the app).\n'
  );
}

/** Prints a command's JSON result: the stable shapes of docs/cli.md. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A listing: `{ KEY: [...] }` with --json, else a line per item on stdout, or `empty` when there is none. */
export function printList<T>(json: boolean | undefined, key: string, items: T[], line: (item: T) => string, empty: string, toJson: (item: T) => unknown = (item) => item): void {
  if (json) printJson({ [key]: items.map(toJson) });
  else if (items.length === 0) process.stdout.write(empty + '\n');
  else for (const item of items) process.stdout.write(line(item) + '\n');
}

/** Totals over the jobs a command waits for: acknowledged bytes plus bytes on the wire. */
export function totals(jobs: JobRecord[], live: JobProgress[]): { sent: number; size: number; rate: number; done: number } {
  const byId = new Map(live.map((p) => [p.jobId, p]));
  let sent = 0;
  let size = 0;
  let rate = 0;
  let done = 0;
  for (const j of jobs) {
    const p = byId.get(j.id);
    sent += p ? p.bytesSent : j.state === 'done' ? j.size : j.bytesDone;
    size += j.size;
    rate += p?.rate ?? 0;
    if (j.state === 'done') done++;
  }
  return { sent, size, rate, done };
}

/** Renders progress: rewrites one line on a terminal, prints a line every few seconds elsewhere. */
export class ProgressView {
  private lastPlain = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream, private readonly plainEveryMs = 5_000) {}

  get isTty(): boolean {
    return Boolean(this.out.isTTY);
  }

  update(jobs: JobRecord[], live: JobProgress[]): void {
    const t = totals(jobs, live);
    const frac = t.size > 0 ? t.sent / t.size : 1;
    const eta = t.rate > 0 ? (t.size - t.sent) / t.rate : null;
    const summary = `${(100 * frac).toFixed(1).padStart(5)}%  ${formatBytes(t.sent)} of ${formatBytes(t.size)}  ${formatRate(t.rate)}  ETA ${formatDuration(eta)}  ${t.done}/${jobs.length} done`;
    if (this.isTty) {
      const width = 30;
      const filled = Math.round(frac * width);
      this.out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${summary}`);
      this.drawn = true;
    } else if (Date.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = Date.now();
      this.out.write(`progress ${summary}\n`);
    }
  }

  /** Prints a line above the bar. */
  say(line: string): void {
    if (this.isTty && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(line + '\n');
  }

  end(): void {
    if (this.isTty && this.drawn) this.out.write('\n');
  }
}
