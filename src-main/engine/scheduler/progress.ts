// Progress of an open job as hosts show it: bytes on the wire plus acknowledged parts (never bytes
// read from disk), and a rate over the last few seconds.
import type { JobProgress } from '../../../shared/types.js';
import type { JobState } from '../../../shared/states.js';
import type { ActiveJob } from './active-job.js';

const RATE_WINDOW_MS = 5_000;

export function progressOf(a: ActiveJob, now: number): JobProgress {
  let onWire = 0;
  for (const f of a.inflight.values()) onWire += f.bytesSent;
  const bytesSent = Math.min(a.job.size, a.bytesAcked + onWire);
  a.samples.push({ at: now, bytes: bytesSent });
  while (a.samples.length > 2 && now - a.samples[0]!.at > RATE_WINDOW_MS) a.samples.shift();
  const first = a.samples[0]!;
  const span = (now - first.at) / 1000;
  const rate = span > 0.5 ? Math.max(0, (bytesSent - first.bytes) / span) : 0;
  return {
    jobId: a.job.id,
    state: a.phase === 'completing' ? 'completing' : ('running' as JobState),
    bytesSent,
    size: a.job.size,
    partsDone: a.partsDone,
    partCount: a.job.partCount,
    rate,
    etaSeconds: rate > 0 ? (a.job.size - bytesSent) / rate : null,
    ...(a.hashedBytes !== undefined ? { hashedBytes: a.hashedBytes } : {}),
  };
}
