// The queue's selection, as a file manager's: a click picks one row, Shift+click adds the range from
// the last row picked, Ctrl/Cmd+click (or the row's box) toggles one; "select all in this filter"
// means every job the filter matches on the host, not only the page loaded. Ids picked stay picked
// across pages; a new filter or search starts afresh.
import { SvelteSet } from 'svelte/reactivity';
import type { JobFilter, JobTarget } from '../../shared/contract.js';

export interface ClickKeys {
  /** Shift: the range from the last row picked. */
  range: boolean;
  /** Ctrl or Cmd (or the row's box): add or remove this row alone. */
  toggle: boolean;
}

export class JobSelection {
  #ids = new SvelteSet<number>();
  #all = $state(false);
  #anchor: number | null = null;

  /** Every job matching the filter on the host is selected. */
  get all(): boolean {
    return this.#all;
  }
  /** The rows picked by id (empty while `all`). */
  get ids(): number[] {
    return [...this.#ids];
  }
  get empty(): boolean {
    return !this.#all && this.#ids.size === 0;
  }

  has(id: number): boolean {
    return this.#all || this.#ids.has(id);
  }

  /** How many jobs are selected, given how many the filter matches in all. */
  count(total: number): number {
    return this.#all ? total : this.#ids.size;
  }

  /** A click on a row (`page`: the ids shown, in order). */
  click(id: number, page: readonly number[], keys: ClickKeys): void {
    if (this.#all) this.#leaveAll(page);
    if (keys.range && this.#anchor !== null && page.includes(this.#anchor)) {
      const [a, b] = [page.indexOf(this.#anchor), page.indexOf(id)];
      for (const picked of page.slice(Math.min(a, b), Math.max(a, b) + 1)) this.#ids.add(picked);
      return;
    }
    if (keys.toggle) {
      if (this.#ids.has(id)) this.#ids.delete(id);
      else this.#ids.add(id);
    } else {
      this.#ids.clear();
      this.#ids.add(id);
    }
    this.#anchor = id;
  }

  /** The header's box: the whole page, or nothing when the page is already all picked. */
  togglePage(page: readonly number[]): void {
    if (this.#all || (page.length > 0 && page.every((id) => this.#ids.has(id)))) this.clear();
    else for (const id of page) this.#ids.add(id);
  }

  selectAllInFilter(): void {
    this.#all = true;
    this.#ids.clear();
  }

  clear(): void {
    this.#all = false;
    this.#ids.clear();
    this.#anchor = null;
  }

  /** What a bulk command acts on, or null when nothing is selected. */
  target(filter: JobFilter): JobTarget | null {
    if (this.#all) return { filter };
    return this.#ids.size ? { ids: this.ids } : null;
  }

  /** From "all in the filter" to picking by hand: the page shown stays picked. */
  #leaveAll(page: readonly number[]): void {
    this.#all = false;
    for (const id of page) this.#ids.add(id);
  }
}
