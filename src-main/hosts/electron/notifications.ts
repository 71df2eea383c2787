// A desktop notification when uploads finish or fail, and when a watched folder kept a source because
// its object changed in the bucket. Jobs that end close together are told in one notification, so a
// folder of a hundred small files does not make a hundred of them.
import path from 'node:path';
import { Notification } from 'electron';
import type { HoistApi, Unsubscribe } from '../../../shared/contract.js';
import type { Job } from '../../../shared/types.js';

const GATHER_MS = 1500;

function tell(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body }).show();
}

function announce(done: Job[], failed: Job[]): void {
  const [firstDone] = done;
  if (done.length === 1 && firstDone) tell('Uploaded', `${path.basename(firstDone.sourcePath)} is in s3://${firstDone.bucket}/${firstDone.key}`);
  else if (done.length > 1) tell(`${done.length} uploads finished`, done.map((j) => path.basename(j.sourcePath)).slice(0, 5).join(', ') + (done.length > 5 ? ', …' : ''));
  const [firstFailed] = failed;
  if (failed.length === 1 && firstFailed) tell('Upload failed', `${path.basename(firstFailed.sourcePath)}: ${firstFailed.error?.message ?? 'see its history in Hoist'}`);
  else if (failed.length > 1) tell(`${failed.length} uploads failed`, 'Open Hoist to see why and retry them.');
}

/** The database was damaged and rebuilt at this start: what came back, in one notification. */
export function notifyRebuilt(lines: readonly string[]): void {
  tell('Hoist rebuilt its damaged database', lines.join(' '));
}

export function notifyWhenJobsEnd(api: HoistApi): Unsubscribe {
  // Only jobs that end from now on: the ones that ended before the app started were seen then.
  const since = Date.now();
  const told = new Set<string>();
  let done: Job[] = [];
  let failed: Job[] = [];
  let timer: NodeJS.Timeout | null = null;
  const stop = api.onJobChanged((job) => {
    if ((job.state !== 'done' && job.state !== 'failed') || !job.finishedAt || Date.parse(job.finishedAt) < since) return;
    const once = `${job.id}@${job.finishedAt}`;
    if (told.has(once)) return;
    told.add(once);
    (job.state === 'done' ? done : failed).push(job);
    timer ??= setTimeout(() => {
      timer = null;
      announce(done, failed);
      done = [];
      failed = [];
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
