// Desktop notifications: uploads delivered (once the queue goes quiet with them done, so a folder of a
// hundred clips makes one) and failed, per the app's settings; a watched folder that kept a source
// because its object changed in the bucket; a database rebuilt at start.
import path from 'node:path';
import { Notification } from 'electron';
import type { HoistApi, Unsubscribe } from '../../../shared/contract.js';
import type { AppSettings } from '../../../shared/controls.js';
import { DeliveryNotices } from '../desktop/notices.js';

const GATHER_MS = 1500;

function tell(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body }).show();
}

/** The database was damaged and rebuilt at this start: what came back, in one notification. */
export function notifyRebuilt(lines: readonly string[]): void {
  tell('Hoist rebuilt its damaged database', lines.join(' '));
}

/**
 * "Delivered" once uploads sent together have all arrived, "failed" as jobs fail (gathered over a
 * moment), each only when the settings want it (hosts/desktop/notices.ts decides; this shows).
 */
export function notifyWhenJobsEnd(api: HoistApi, settings: () => Pick<AppSettings, 'notifications'>): Unsubscribe {
  const notices = new DeliveryNotices(Date.now());
  let timer: NodeJS.Timeout | null = null;
  const stop = api.onJobChanged((job) => {
    if (!notices.jobChanged(job)) return;
    timer ??= setTimeout(() => {
      timer = null;
      void api.totals().then((totals) => {
        for (const n of notices.take(totals, settings())) tell(n.title, n.body);
      });
    }, GATHER_MS);
  });
  return () => {
    stop();
    if (timer) clearTimeout(timer);
  };
}

/**
 * A watched folder kept a source because its object was deleted or overwritten in the bucket since
 * it was verified (the job is flagged; docs/watch.md): told once per job and flag.
 */
export function notifyWhenSourcesKept(api: HoistApi): Unsubscribe {
  const told = new Set<number>();
  return api.onJobChanged((job) => {
    if (!job.flag) {
      told.delete(job.id);
      return;
    }
    if (told.has(job.id)) return;
    told.add(job.id);
    const what = job.flag.code === 'cleanup.object-missing' ? 'deleted' : 'overwritten';
    tell('Source file kept', `${path.basename(job.sourcePath)}: s3://${job.bucket}/${job.key} was ${what} since it was verified, so the file was not removed. Open the job in Hoist to send it again.`);
  });
}
