// What a webhook receiver is sent: a stable JSON shape (documented in docs/webhooks.md) with a
// `text` line, so that the same POST reads well when the URL is a chat channel's webhook.
import path from 'node:path';
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

export function jobPayload(job: JobRecord, folder: FolderRef, at: number, hashes: Record<string, string> = {}): JobPayload {
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
      hashes,
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

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
