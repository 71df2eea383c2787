// Which keys are empty, for many small files at once (issue 12): one ListObjectsV2 page tells a
// thousand frames' keys are empty where a HeadObject each took a round trip and most of the main
// thread's S3 work. Only absence is taken from a listing, and only for a few seconds: a key it
// lists is looked at with HeadObject as before (same-object.ts needs its part layout), and a write
// after an empty look carries If-None-Match: * (invariant 12), so another client's object written
// since the listing is refused (412) and the job decides again, as after any look. Where the server
// refused conditional writes, or listing is denied, every key is looked at with HeadObject.
import type { S3Client } from '@aws-sdk/client-s3';
import { toHoistError } from '../s3/errors.js';
import * as ops from '../s3/operations.js';

/** A listing is taken as the bucket's truth for this long; the conditional write covers the rest. */
export const LISTING_FRESH_MS = 5_000;
/** After a listing failed other than by a denial, keys are looked at one by one this long before listing is tried again. */
const UNLISTED_FOR_MS = 5 * 60_000;
/** Keys one listing covers (one page). */
const LISTING_PAGE = 1000;

interface Listing {
  prefix: string;
  /** Covers keys after this one... */
  after: string;
  /** ...up to this one (the last listed), or to the end of the prefix when the page was the last. */
  through: string | null;
  /** Keys it holds, and keys written or seen written here since it was taken: those are looked at. */
  present: Set<string>;
  at: number;
}

export class KeyListings {
  private readonly listings = new Map<string, Listing[]>();
  private readonly pending = new Map<string, Promise<void>>();
  /** Destinations whose listing failed, and when: their keys are looked at with HeadObject (for a while, or for good when denied). */
  private readonly unlisted = new Map<string, number>();
  /** When each key was last written or decided on here: a listing taken since may predate the write landing. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * True when a listing younger than LISTING_FRESH_MS shows `key` empty (listing the keys from it on
   * when none covers it); false when the key must be looked at (HeadObject).
   */
  async empty(client: S3Client, destinationId: number, bucket: string, key: string): Promise<boolean> {
    const where = `${destinationId}\0${bucket}`;
    const failedAt = this.unlisted.get(where);
    if (failedAt !== undefined && this.now() - failedAt < UNLISTED_FOR_MS) return false;
    const touchedAt = this.touched.get(`${where}\0${key}`);
    if (touchedAt !== undefined && this.now() - touchedAt < 2 * LISTING_FRESH_MS) return false;
    const found = this.covering(where, key);
    if (found) return !found.present.has(key);
    const prefix = key.slice(0, key.lastIndexOf('/') + 1);
    const inFlight = this.pending.get(`${where}\0${prefix}`);
    if (inFlight) {
      await inFlight;
      const again = this.covering(where, key);
      if (again) return !again.present.has(key);
    }
    const listing = this.list(client, where, bucket, prefix, key);
    this.pending.set(`${where}\0${prefix}`, listing);
    try {
      await listing;
    } finally {
      this.pending.delete(`${where}\0${prefix}`);
    }
    const listed = this.covering(where, key);
    return listed ? !listed.present.has(key) : false;
  }

  /** The key is being written here, or was found written by another client: later looks at it use HeadObject. */
  written(destinationId: number, bucket: string, key: string): void {
    const now = this.now();
    if (this.touched.size >= 10_000) for (const [k, at] of this.touched) if (now - at >= 2 * LISTING_FRESH_MS) this.touched.delete(k);
    this.touched.set(`${destinationId}\0${bucket}\0${key}`, now);
    for (const l of this.listings.get(`${destinationId}\0${bucket}`) ?? []) if (covers(l, key)) l.present.add(key);
  }

  private covering(where: string, key: string): Listing | undefined {
    const now = this.now();
    const fresh = (this.listings.get(where) ?? []).filter((l) => now - l.at < LISTING_FRESH_MS);
    this.listings.set(where, fresh);
    return fresh.find((l) => covers(l, key));
  }

  private async list(client: S3Client, where: string, bucket: string, prefix: string, key: string): Promise<void> {
    // Keys after `key` less its last character: `key` itself and the ones after it, in the order a folder is queued.
    const after = key.slice(0, -1);
    const at = this.now();
    try {
      const page = await ops.listKeysAfter(client, bucket, prefix, after, LISTING_PAGE);
      const listing: Listing = { prefix, after, through: page.truncated ? (page.keys.at(-1) ?? null) : null, present: new Set(page.keys), at };
      if (page.truncated && listing.through === null) return;
      this.listings.set(where, [...(this.listings.get(where) ?? []), listing]);
    } catch (err) {
      // Not permitted (s3:ListBucket), or not offered by the server: HeadObject, key by key, as before.
      this.unlisted.set(where, toHoistError(err).code === 's3.access-denied' ? Infinity : this.now());
    }
  }
}

function covers(l: Listing, key: string): boolean {
  return key.startsWith(l.prefix) && key > l.after && (l.through === null || key <= l.through);
}
