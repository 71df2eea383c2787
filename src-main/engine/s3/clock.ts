// The server's clock, as each endpoint's responses tell it (their Date header, which the SDK reads
// into a client's systemClockOffset). S3 refuses a request signed more than 15 minutes away from its
// own time (RequestTimeTooSkewed); signing with the learned offset lets a computer whose clock is off
// upload anyway. Part workers make one attempt per request, so they cannot correct themselves in
// the SDK's retry: the main thread learns the offset and hands it to every request it dispatches.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Destination } from '../../../shared/types.js';

/** Offsets closer than this to the one in use are the Date header's one-second grain and the network's delay, not a skew. */
export const CLOCK_SKEW_NOTICE_MS = 60_000;

export class ServerClocks {
  private readonly offsets = new Map<string, number>();

  /** Milliseconds to add to this computer's clock to read the endpoint's (0 until learned). */
  offsetFor(dest: Pick<Destination, 'endpoint' | 'region'>): number {
    return this.offsets.get(endpointKey(dest)) ?? 0;
  }

  /**
   * Takes what a client observed. Returns the new offset when it moved by a minute or more (the
   * caller notes it in a job's history), else null; small moves are ignored so that clients
   * built with the offset stay reused.
   */
  learn(dest: Pick<Destination, 'endpoint' | 'region'>, observedMs: number | undefined): number | null {
    if (observedMs === undefined || !Number.isFinite(observedMs)) return null;
    const current = this.offsetFor(dest);
    if (Math.abs(observedMs - current) < CLOCK_SKEW_NOTICE_MS) return null;
    const rounded = Math.round(observedMs / 1000) * 1000;
    this.offsets.set(endpointKey(dest), rounded);
    return rounded;
  }
}

function endpointKey(dest: Pick<Destination, 'endpoint' | 'region'>): string {
  return dest.endpoint ?? `aws:${dest.region}`;
}

/** The offset a client's last response taught the SDK (it updates it on every answer). */
export function observedClockOffset(client: S3Client): number | undefined {
  const offset = (client.config as { systemClockOffset?: unknown }).systemClockOffset;
  return typeof offset === 'number' ? offset : undefined;
}

/** A request taking longer than this tells nothing reliable about the server's clock (the SDK's bound too). */
const SLOW_ANSWER_MS = 15 * 60_000;

/**
 * The offset an answer teaches, by the SDK's rule (@aws-sdk/core getUpdatedSystemClockOffset),
 * for requests sent without the SDK (s3/direct-request.ts): the Date header, unless the answer
 * came from a cache (an Age header) or the request took over 15 minutes; undefined when it
 * teaches nothing. `sentAt` and `now` are this computer's clock, in ms.
 */
export function clockOffsetFromAnswer(date: string | undefined, age: string | undefined, sentAt: number, now: number): number | undefined {
  if (!date || age !== undefined) return undefined;
  const server = Date.parse(date);
  if (Number.isNaN(server) || now - sentAt > SLOW_ANSWER_MS) return undefined;
  return server - now;
}

/** "30 min 5 s behind" / "2 h ahead": how far this computer's clock is from the server's. */
export function describeSkew(offsetMs: number): string {
  // The Date header has a one-second grain: past ten minutes, whole minutes say it better.
  const exact = Math.round(Math.abs(offsetMs) / 1000);
  const total = exact >= 600 ? Math.round(exact / 60) * 60 : exact;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', s && !h ? `${s} s` : ''].filter(Boolean);
  return `${parts.join(' ') || '0 s'} ${offsetMs > 0 ? 'behind' : 'ahead of'}`;
}
