// Listings page by page, whatever the server leaves out. A page that says more follow
// (IsTruncated) but names no next-page marker is continued from its last item, as S3 SDKs do; a
// page that brings nothing past the previous one's last item stops the listing with
// s3.listing-stuck, rather than asking for the same page forever.
import { HoistError } from '../../../shared/errors.js';

/** UTF-8 byte order, the order S3 lists keys in (JavaScript's < compares UTF-16 code units). */
export function keyAfter(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) > 0;
}

/** Watches that each page of one listing gets further than the one before. */
export class ListingProgress<T> {
  #last: T | undefined;
  #pages = 0;

  /** `after(a, b)`: whether item `a` lies past item `b` in the listing's order. */
  constructor(
    private readonly operation: string,
    private readonly after: (a: T, b: T) => boolean,
    private readonly describe: (item: T) => string = String,
  ) {}

  /**
   * A page arrived, ending with `last` (undefined: it was empty): throws if a truncated page is
   * empty, or if any page after the first does not end past the previous one (the same page again).
   * Called before the page's items are used, so none is given twice.
   */
  page(last: T | undefined, truncated: boolean): void {
    this.#pages++;
    if (last === undefined) {
      if (truncated) throw this.stuck(`page ${this.#pages} was empty but said more follow`);
      return;
    }
    if (this.#last !== undefined && !this.after(last, this.#last)) {
      throw this.stuck(`page ${this.#pages} ended at ${this.describe(last)}, not past the previous page's last item ${this.describe(this.#last)}`);
    }
    this.#last = last;
  }

  private stuck(detail: string): HoistError {
    return new HoistError('s3.listing-stuck', { operation: this.operation, detail });
  }
}
