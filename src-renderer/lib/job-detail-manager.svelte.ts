// One job in full: its parts (for the part map and the checksum table), its history, its file
// hashes and the ASC MHL batch it belongs to.
import type { HoistApi, JobDetail } from '../../shared/contract.js';
import type { Priority } from '../../shared/states.js';
import type { JobProgress } from '../../shared/types.js';
import type { NoticeManager } from './notices.svelte.js';

/** Part states change fast while sending; reloading the detail this often is plenty for a map. */
const RELOAD_WHILE_MOVING_MS = 1000;
/** An ASC MHL batch is written when its folder goes quiet, which sends no job event: look again this often. */
const RELOAD_WHILE_BATCH_PENDING_MS = 2000;

export class JobDetailManager {
  #detail = $state.raw<JobDetail | null>(null);
  #missing = $state(false);
  #progress = $state.raw<JobProgress | null>(null);
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  #watching = false;

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
    readonly jobId: number,
  ) {}

  get detail(): JobDetail | null {
    return this.#detail;
  }
  /** The host says there is no such job (removed, or a stale link). */
  get missing(): boolean {
    return this.#missing;
  }
  get progress(): JobProgress | null {
    return this.#progress;
  }

  watch(): () => void {
    this.#watching = true;
    void this.reload();
    const offJob = this.api.onJobChanged((job) => {
      if (job.id !== this.jobId) return;
      if (this.#detail) this.#detail = { ...this.#detail, job };
      this.#scheduleReload(0);
    });
    const offProgress = this.api.onProgress((list) => {
      const mine = list.find((p) => p.jobId === this.jobId) ?? null;
      this.#progress = mine;
      if (mine) this.#scheduleReload(RELOAD_WHILE_MOVING_MS);
    });
    return () => {
      this.#watching = false;
      offJob();
      offProgress();
      clearTimeout(this.#reloadTimer);
      this.#reloadTimer = undefined;
    };
  }

  async reload(): Promise<void> {
    const detail = await this.notices.run('getJob', () => this.api.getJob(this.jobId));
    if (detail === undefined) return;
    this.#missing = detail === null;
    this.#detail = detail;
    const batch = detail?.batch;
    if (this.#watching && batch && (batch.state === 'open' || batch.state === 'sealed')) this.#scheduleReload(RELOAD_WHILE_BATCH_PENDING_MS);
  }

  setPriority(priority: Priority): Promise<unknown> {
    return this.notices.run('setPriority', () => this.api.setPriority(this.jobId, priority));
  }

  #scheduleReload(delay: number): void {
    if (this.#reloadTimer) return;
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = undefined;
      void this.reload();
    }, delay);
  }
}
