// The queue as the Queue screen shows it: one page of jobs (filtered and sorted by the host),
// live progress merged in, counts by state, and the overall throughput over the last minutes.
import { SvelteMap } from 'svelte/reactivity';
import type { HoistApi, JobAction, JobFilter, JobSortKey, JobTarget } from '../../shared/contract.js';
import { ACTIVE_JOB_STATES, JOB_STATES, type JobState } from '../../shared/states.js';
import type { Job, JobProgress, Totals } from '../../shared/types.js';
import { JobSelection } from './job-selection.svelte.js';
import type { NoticeManager } from './notices.svelte.js';

/** What a row shows, whether or not the job is moving right now. */
export interface LiveJob {
  job: Job;
  bytes: number;
  fraction: number;
  partsDone: number;
  rate: number | null;
  etaSeconds: number | null;
  /** How far the whole-file hash pass has read (0 to 1) while it runs, else null. */
  hashed: number | null;
}

export const THROUGHPUT_SAMPLES = 120;
const SAMPLE_EVERY_MS = 1000;
/** Progress arrives ~5 times a second while anything moves; silence this long means nothing does. */
const PROGRESS_STALE_MS = 1500;
const REFRESH_COALESCE_MS = 150;
/** Typing in the search box asks the host once the typing pauses. */
const SEARCH_DEBOUNCE_MS = 200;

/** What a bulk command says it did, by action. */
const DID: Record<'pause' | 'resume' | 'retry' | 'cancel' | 'clear' | 'priority', string> = {
  pause: 'Paused',
  resume: 'Resumed',
  retry: 'Queued again',
  cancel: 'Cancelled',
  clear: 'Cleared',
  priority: 'Changed the priority of',
};
const jobs = (n: number) => `${n.toLocaleString('en')} job${n === 1 ? '' : 's'}`;

export class QueueManager {
  readonly pageSize = 100;
  #jobs = $state.raw<Job[]>([]);
  #total = $state(0);
  #loaded = $state(false);
  #states = $state.raw<JobState[]>([]);
  #sort = $state<JobSortKey>('createdAt');
  #descending = $state(true);
  #offset = $state(0);
  #totals = $state.raw<Totals | null>(null);
  #throughput = $state.raw<number[]>(new Array(THROUGHPUT_SAMPLES).fill(0));
  #progress = new SvelteMap<number, JobProgress>();
  #progressAt = 0;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #busy = $state(false);
  #search = $state('');
  /** The search the list is asked with: the box's text once the typing pauses. */
  #applied = '';
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  /** The filter of the page shown (the newest answer), for the table to say what it shows. */
  #shown = $state.raw<JobFilter>({});
  #request = 0;
  /** The rows picked for a bulk command (job-selection.svelte.ts). */
  readonly selection = new JobSelection();

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
  ) {}

  get jobs(): Job[] {
    return this.#jobs;
  }
  get total(): number {
    return this.#total;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get states(): JobState[] {
    return this.#states;
  }
  get sort(): JobSortKey {
    return this.#sort;
  }
  get descending(): boolean {
    return this.#descending;
  }
  get offset(): number {
    return this.#offset;
  }
  get totals(): Totals | null {
    return this.#totals;
  }
  /** Bytes per second, oldest first, one sample a second. */
  get throughput(): number[] {
    return this.#throughput;
  }
  /** The search box's text (a case-insensitive part of the file's name or path; the host searches). */
  get search(): string {
    return this.#search;
  }
  /** The filter the rows shown were listed with. */
  get shown(): JobFilter {
    return this.#shown;
  }
  /** The filter in force: the state chips and the search. */
  get filter(): JobFilter {
    const search = this.#applied;
    return { ...(this.#states.length ? { states: this.#states } : {}), ...(search ? { search } : {}) };
  }
  /** True while a queue-wide command (pause all, resume all) is under way. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Bytes per second across every moving job right now. */
  get rate(): number {
    let sum = 0;
    for (const p of this.#progress.values()) sum += p.rate;
    return sum;
  }

  countOf(state: JobState): number {
    return this.#totals?.byState[state] ?? 0;
  }

  get countAll(): number {
    return JOB_STATES.reduce((n, s) => n + this.countOf(s), 0);
  }

  live(job: Job): LiveJob {
    const p = this.#progress.get(job.id);
    const moving = p !== undefined && ACTIVE_JOB_STATES.includes(job.state);
    const bytes = job.state === 'done' ? job.size : moving ? p.bytesSent : job.bytesDone;
    return {
      job,
      bytes,
      fraction: job.size > 0 ? bytes / job.size : job.state === 'done' ? 1 : 0,
      partsDone: moving ? Math.max(p.partsDone, job.partsDone) : job.partsDone,
      rate: moving ? p.rate : null,
      etaSeconds: moving ? p.etaSeconds : null,
      hashed: moving && p.hashedBytes !== undefined ? (job.size > 0 ? p.hashedBytes / job.size : 1) : null,
    };
  }

  /** Subscribes while the screen is shown; returns the cleanup. */
  watch(): () => void {
    void this.refresh();
    const offJob = this.api.onJobChanged((job) => this.#onJob(job));
    const offProgress = this.api.onProgress((list) => this.#onProgress(list));
    const sampler = setInterval(() => this.#sample(), SAMPLE_EVERY_MS);
    return () => {
      offJob();
      offProgress();
      clearInterval(sampler);
      clearTimeout(this.#refreshTimer);
      clearTimeout(this.#searchTimer);
      this.#refreshTimer = undefined;
    };
  }

  toggleState(state: JobState): void {
    this.#states = this.#states.includes(state) ? this.#states.filter((s) => s !== state) : [...this.#states, state];
    this.#filterChanged();
  }

  showAllStates(): void {
    this.#states = [];
    this.#filterChanged();
  }

  /** Searches as the user types, asking the host once the typing pauses. */
  setSearch(text: string): void {
    this.#search = text;
    clearTimeout(this.#searchTimer);
    this.#searchTimer = setTimeout(() => {
      this.#applied = text.trim();
      this.#filterChanged();
    }, SEARCH_DEBOUNCE_MS);
  }

  #filterChanged(): void {
    this.#offset = 0;
    this.selection.clear();
    void this.refresh();
  }

  /** Same column again flips the direction; a new column starts with its natural direction. */
  sortBy(key: JobSortKey): void {
    if (this.#sort === key) this.#descending = !this.#descending;
    else {
      this.#sort = key;
      this.#descending = key === 'createdAt' || key === 'size' || key === 'progress';
    }
    void this.refresh();
  }

  page(delta: number): void {
    const next = Math.max(0, this.#offset + delta * this.pageSize);
    if (next >= this.#total && delta > 0) return;
    this.#offset = next;
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    const filter = this.filter;
    const [list, totals] = await Promise.all([
      this.notices.run('listJobs', () =>
        this.api.listJobs({
          ...filter,
          offset: this.#offset,
          limit: this.pageSize,
          sort: this.#sort,
          descending: this.#descending,
        }),
      ),
      this.notices.run('totals', () => this.api.totals()),
    ]);
    // Answers to an older filter (typing fast) must not replace a newer one's.
    if (request !== this.#request) return;
    if (list) {
      this.#jobs = list.jobs;
      this.#total = list.total;
      this.#shown = filter;
    }
    if (totals) this.#totals = totals;
    this.#loaded = true;
  }

  pause(id: number): Promise<unknown> {
    return this.notices.run('pauseJob', () => this.api.pauseJob(id));
  }
  resume(id: number): Promise<unknown> {
    return this.notices.run('resumeJob', () => this.api.resumeJob(id));
  }
  cancel(id: number): Promise<unknown> {
    return this.notices.run('cancelJob', () => this.api.cancelJob(id));
  }
  retry(id: number): Promise<unknown> {
    return this.notices.run('retryJob', () => this.api.retryJob(id));
  }

  async pauseAll(): Promise<void> {
    await this.#queueWide('pauseAll', () => this.api.pauseAll(), (n) => `Paused ${n} job${n === 1 ? '' : 's'}.`);
  }

  async resumeAll(): Promise<void> {
    await this.#queueWide('resumeAll', () => this.api.resumeAll(), (n) => `Resumed ${n} job${n === 1 ? '' : 's'}.`);
  }

  /** One action on the selection (every job of the filter when "all" is selected). */
  async actOnSelection(action: JobAction): Promise<void> {
    const target = this.selection.target(this.filter);
    if (target) await this.act(target, action);
  }

  /** Every failed job on the host, whatever the page or filter shows. */
  retryAllFailed(): Promise<void> {
    return this.act({ filter: { states: ['failed'] } }, 'retry');
  }

  /** Takes every done and cancelled job off the list; their records stay on the host. */
  clearFinished(): Promise<void> {
    return this.act({ filter: { states: ['done', 'cancelled'] } }, 'clear');
  }

  async act(target: JobTarget, action: JobAction): Promise<void> {
    const verb = DID[typeof action === 'object' ? 'priority' : action];
    await this.#queueWide('actOnJobs', async () => {
      const r = await this.api.actOnJobs(target, action);
      return r.changed === r.matched ? `${verb} ${jobs(r.changed)}.` : `${verb} ${jobs(r.changed)} of ${r.matched.toLocaleString('en')} (the others were not in a state it applies to).`;
    }, (said) => said);
  }

  async #queueWide<T>(op: string, command: () => Promise<T>, say: (n: T) => string): Promise<void> {
    this.#busy = true;
    try {
      const n = await this.notices.run(op, command);
      if (n !== undefined) this.notices.success(say(n));
      this.#scheduleRefresh();
    } finally {
      this.#busy = false;
    }
  }

  reset(): void {
    this.selection.clear();
    this.#search = this.#applied = '';
    this.#jobs = [];
    this.#total = 0;
    this.#loaded = false;
    this.#states = [];
    this.#offset = 0;
    this.#totals = null;
    this.#progress.clear();
    this.#throughput = new Array(THROUGHPUT_SAMPLES).fill(0);
  }

  #onJob(job: Job): void {
    if (!ACTIVE_JOB_STATES.includes(job.state)) this.#progress.delete(job.id);
    const i = this.#jobs.findIndex((j) => j.id === job.id);
    const fits = !job.clearedAt && (this.#states.length === 0 || this.#states.includes(job.state));
    if (i >= 0 && fits) {
      // In place, so a row does not jump while someone reaches for its buttons.
      const next = this.#jobs.slice();
      next[i] = job;
      this.#jobs = next;
    }
    // Counts, membership and order may all have changed: ask the host, once per burst.
    this.#scheduleRefresh();
  }

  #onProgress(list: JobProgress[]): void {
    this.#progressAt = Date.now();
    const seen = new Set<number>();
    for (const p of list) {
      seen.add(p.jobId);
      this.#progress.set(p.jobId, p);
    }
    for (const id of [...this.#progress.keys()]) if (!seen.has(id)) this.#progress.delete(id);
  }

  #sample(): void {
    if (this.#progress.size && Date.now() - this.#progressAt > PROGRESS_STALE_MS) this.#progress.clear();
    this.#throughput = [...this.#throughput.slice(1), this.rate];
  }

  #scheduleRefresh(): void {
    if (this.#refreshTimer) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.refresh();
    }, REFRESH_COALESCE_MS);
  }
}
