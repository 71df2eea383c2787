// What a webhook receiver is sent: a stable JSON shape (documented in docs/webhooks.md) with a
// `text` line, so that the same POST reads well when the URL is a chat channel's webhook.
import path from 'node:path';
import { HoistError } from '../../../shared/errors.js';
import { parseWebhookUrl } from '../../../shared/folder-rules.js';
import type { ObjectState, StaleCode, StaleObject } from '../folders/delivery-evidence.js';
import type { JobRecord } from '../store/job-store.js';
import type { WebhookKind } from '../store/outbox-store.js';
import { formatBytes } from '../upload/part-plan.js';

export interface FolderRef {
  id: number;
  path: string;
}

export interface JobPayload {
  type: Extract<WebhookKind, 'job.done' | 'job.failed'>;
  occurredAt: string;
  folder: FolderRef;
  job: {
    id: number;
    sourcePath: string;
    bucket: string;
    key: string;
    size: number;
    etag: string | null;
    hashes: Record<string, string>;
    queuedAt: string;
    startedAt: string | null;
    finishedAt: string | null;
    /** From the job's start to its end, in seconds (null when it never started). */
    durationSeconds: number | null;
    attempts: number;
    error: { code: string; message: string; operation: string | null } | null;
  };
  text: string;
}

export interface BatchPayload {
  type: 'batch.done';
  occurredAt: string;
  folder: FolderRef;
  batch: {
    id: number;
    files: number;
    done: number;
    failed: number;
    bytes: number;
    startedAt: string;
    finishedAt: string;
    durationSeconds: number;
    jobIds: number[];
  };
  text: string;
}

/** A source kept after delivery because an object it was delivered as changed since (folders/delivery-evidence.ts). */
export interface SourceKeptPayload {
  type: 'source.kept';
  occurredAt: string;
  folder: FolderRef;
  source: { path: string; size: number; after: 'delete' | 'move' };
  objects: Array<{
    jobId: number | null;
    destination: string;
    bucket: string;
    key: string;
    code: StaleCode;
    message: string;
    expected: ObjectState;
    found: ObjectState | null;
  }>;
  text: string;
}

/** A webhook must be an http(s) URL; anything else is refused when the folder is set up, not at delivery. */
export function checkWebhookUrl(text: string): string {
  const parsed = parseWebhookUrl(text);
  if (parsed.problem !== null) throw new HoistError('config.invalid', { message: parsed.problem });
  return parsed.url;
}

export function jobPayload(job: JobRecord, folder: FolderRef, at: number): JobPayload {
  const type = job.state === 'done' ? 'job.done' : 'job.failed';
  const durationSeconds = job.startedAt && job.finishedAt ? (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000 : null;
  const name = path.basename(job.sourcePath);
  const where = `s3://${job.bucket}/${job.key}`;
  const text =
    type === 'job.done'
      ? `Hoist: ${name} (${formatBytes(job.size)}) arrived in ${where}${durationSeconds !== null ? ` in ${formatDuration(durationSeconds)}` : ''}, verified.`
      : `Hoist: ${name} failed on its way to ${where}: ${job.error ? `${job.error.code}: ${job.error.message}` : 'unknown error'}`;
  return {
    type,
    occurredAt: new Date(at).toISOString(),
    folder,
    job: {
      id: job.id,
      sourcePath: job.sourcePath,
      bucket: job.bucket,
      key: job.key,
      size: job.size,
      etag: job.etag,
      hashes: { ...job.hashes },
      queuedAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      durationSeconds,
      attempts: job.attempts,
      error: job.error ? { code: job.error.code, message: job.error.message, operation: job.error.operation ?? null } : null,
    },
    text,
  };
}

export function sourceKeptPayload(k: { folder: FolderRef; file: string; size: number; after: 'delete' | 'move'; stale: readonly StaleObject[]; todo: string }, at: number): SourceKeptPayload {
  const verb = k.after === 'delete' ? 'deleted' : 'moved';
  return {
    type: 'source.kept',
    occurredAt: new Date(at).toISOString(),
    folder: k.folder,
    source: { path: k.file, size: k.size, after: k.after },
    objects: k.stale.map((s) => ({
      jobId: s.object.jobId,
      destination: s.object.destination,
      bucket: s.object.bucket,
      key: s.object.key,
      code: s.code,
      message: s.why,
      expected: { size: s.object.size, etag: s.object.etag, versionId: s.object.versionId },
      found: s.found,
    })),
    text: `Hoist: ${path.basename(k.file)} was kept, not ${verb}: ${k.stale.map((s) => `${s.why} (${s.code})`).join('; ')}. ${k.todo}`,
  };
}

/** A folder went idle after settling these jobs. */
export function batchPayload(batch: { id: number; openedAt: number; jobs: JobRecord[] }, folder: FolderRef, at: number): BatchPayload {
  const done = batch.jobs.filter((j) => j.state === 'done');
  const failed = batch.jobs.filter((j) => j.state !== 'done');
  const bytes = done.reduce((n, j) => n + j.size, 0);
  const started = Math.min(batch.openedAt, ...batch.jobs.map((j) => Date.parse(j.startedAt ?? j.createdAt)));
  const durationSeconds = Math.max(0, (at - started) / 1000);
  const files = batch.jobs.length === 1 ? '1 file' : `${batch.jobs.length} files`;
  const text =
    `Hoist: a batch of ${files} from ${folder.path} is done in ${formatDuration(durationSeconds)}: ` +
    `${done.length} arrived (${formatBytes(bytes)})` +
    (failed.length > 0 ? `, ${failed.length} failed (${failed.map((j) => path.basename(j.sourcePath)).slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''}).` : ', none failed.');
  return {
    type: 'batch.done',
    occurredAt: new Date(at).toISOString(),
    folder,
    batch: {
      id: batch.id,
      files: batch.jobs.length,
      done: done.length,
      failed: failed.length,
      bytes,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(at).toISOString(),
      durationSeconds,
      jobIds: batch.jobs.map((j) => j.id),
    },
    text,
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
