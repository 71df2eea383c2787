// "ASC MHL batches": every batch with its state in words, its files, its manifest and, for one whose
// write failed, Retry — what `hoist batches list|retry` show and do.
import type { HoistApi } from '../../shared/contract.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { BatchEntry } from '../../shared/records.js';
import { toErrorInfo } from './errors.js';
import { attempt, type NoticeManager } from './notices.svelte.js';
import { pollWhileShown } from './poll.js';

export class BatchesManager {
  #batches = $state.raw<BatchEntry[]>([]);
  #loaded = $state(false);
  #error = $state.raw<ErrorInfo | null>(null);
  #retrying = $state.raw<ReadonlySet<number>>(new Set());

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
  ) {}

  /** Newest first. */
  get batches(): BatchEntry[] {
    return this.#batches;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): ErrorInfo | null {
    return this.#error;
  }
  isRetrying(id: number): boolean {
    return this.#retrying.has(id);
  }
  count(status: BatchEntry['status']): number {
    return this.#batches.filter((b) => b.status === status).length;
  }

  watch(): () => void {
    void this.refresh();
    return pollWhileShown(this.api, () => void this.refresh());
  }

  async refresh(): Promise<void> {
    try {
      this.#batches = [...(await this.api.listBatches())].reverse();
      this.#error = null;
    } catch (err) {
      this.#error = toErrorInfo(err, 'listBatches');
    } finally {
      this.#loaded = true;
    }
  }

  async retry(id: number): Promise<void> {
    this.#retrying = new Set([...this.#retrying, id]);
    const out = await attempt('retryBatch', () => this.api.retryBatch(id));
    this.#retrying = new Set([...this.#retrying].filter((x) => x !== id));
    if (out.ok) this.notices.success(`Batch ${id} queued again: its generation is written now.`);
    else this.notices.error(out.error);
    await this.refresh();
  }
}
