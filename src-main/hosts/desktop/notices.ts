// Which desktop notifications to show (plain logic for hosts/electron/notifications.ts), per the
// settings (shared/controls.ts): "batch delivered" once uploads sent together have all arrived (the
// queue went quiet with them done: one notification for a card of a hundred clips, not a hundred),
// and "job failed" for jobs that failed, gathered. Jobs that ended before the app started are not told.
import path from 'node:path';
import type { AppSettings } from '../../../shared/controls.js';
import type { Job, Totals } from '../../../shared/types.js';

export interface DesktopNotice {
  kind: 'delivered' | 'failed';
  title: string;
  body: string;
}

const name = (j: Job) => path.basename(j.sourcePath);

export class DeliveryNotices {
  private readonly told = new Set<string>();
  private delivered: Job[] = [];
  private failed: Job[] = [];

  /** `since`: the app's start (ms); jobs finished before it were seen then. */
  constructor(private readonly since: number) {}

  /** A job changed; true when it is news worth looking at the queue for. */
  jobChanged(job: Job): boolean {
    if ((job.state !== 'done' && job.state !== 'failed') || !job.finishedAt || Date.parse(job.finishedAt) < this.since) return false;
    const once = `${job.id}@${job.finishedAt}@${job.state}`;
    if (this.told.has(once)) return false;
    this.told.add(once);
    (job.state === 'done' ? this.delivered : this.failed).push(job);
    return true;
  }

  /** What to show now, given the queue's totals and the settings; what is told (or not wanted) is forgotten. */
  take(totals: Totals, settings: Pick<AppSettings, 'notifications'>): DesktopNotice[] {
    const out: DesktopNotice[] = [];
    if (this.failed.length) {
      if (settings.notifications.jobFailed) out.push(failedNotice(this.failed));
      this.failed = [];
    }
    const busy = ['queued', 'running', 'completing'].some((s) => (totals.byState[s] ?? 0) > 0);
    if (this.delivered.length && !busy) {
      if (settings.notifications.batchDelivered) out.push(deliveredNotice(this.delivered));
      this.delivered = [];
    }
    return out;
  }
}

function deliveredNotice(jobs: readonly Job[]): DesktopNotice {
  const [first] = jobs;
  if (jobs.length === 1 && first) return { kind: 'delivered', title: 'Delivered', body: `${name(first)} is in s3://${first.bucket}/${first.key}` };
  const buckets = [...new Set(jobs.map((j) => j.bucket))];
  const where = buckets.length === 1 ? ` to s3://${buckets[0]}` : ` to ${buckets.length} buckets`;
  const names = jobs.map(name).slice(0, 5).join(', ') + (jobs.length > 5 ? ', …' : '');
  return { kind: 'delivered', title: `${jobs.length} files delivered${where}`, body: names };
}

function failedNotice(jobs: readonly Job[]): DesktopNotice {
  const [first] = jobs;
  if (jobs.length === 1 && first) return { kind: 'failed', title: 'Upload failed', body: `${name(first)}: ${first.error?.message ?? 'see its history in Hoist'}` };
  return { kind: 'failed', title: `${jobs.length} uploads failed`, body: 'Open Hoist to see why and retry them.' };
}
