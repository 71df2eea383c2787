// "Uploads in the bucket": every multipart upload still open on a destination's bucket, ours or
// orphaned, with what it holds, and the commands that clean up after them.
import type { HoistApi } from '../../shared/contract.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { AbortIncompleteSummary } from '../../shared/records.js';
import type { RemoteUploadSummary } from '../../shared/types.js';
import { toErrorInfo } from './errors.js';
import { attempt, type NoticeManager, type Outcome } from './notices.svelte.js';

export class RemoteUploadsManager {
  #destinationId = $state<number | null>(null);
  #uploads = $state.raw<RemoteUploadSummary[]>([]);
  #loading = $state(false);
  #loaded = $state(false);
  /** A listing that failed is shown in place of the table: it is the answer to "what is there?". */
  #error = $state.raw<ErrorInfo | null>(null);
  #generation = 0;
  /** The bucket's rules that abort incomplete uploads, as `hoist uploads lifecycle` shows them (null until read, or unreadable). */
  #lifecycle = $state.raw<AbortIncompleteSummary | null>(null);
  #lifecycleError = $state.raw<ErrorInfo | null>(null);

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
  ) {}

  get destinationId(): number | null {
    return this.#destinationId;
  }
  get uploads(): RemoteUploadSummary[] {
    return this.#uploads;
  }
  get loading(): boolean {
    return this.#loading;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): ErrorInfo | null {
    return this.#error;
  }
  get lifecycle(): AbortIncompleteSummary | null {
    return this.#lifecycle;
  }
  get lifecycleError(): ErrorInfo | null {
    return this.#lifecycleError;
  }
  get orphans(): RemoteUploadSummary[] {
    return this.#uploads.filter((u) => u.jobId === null);
  }
  get bytesHeld(): number {
    return this.#uploads.reduce((n, u) => n + (u.bytes ?? 0), 0);
  }
  get orphanBytesHeld(): number {
    return this.orphans.reduce((n, u) => n + (u.bytes ?? 0), 0);
  }

  /** Shows a destination's uploads, listed afresh: other tools open and abort uploads without telling Hoist. */
  select(destinationId: number | null): void {
    if (destinationId !== this.#destinationId) {
      this.#destinationId = destinationId;
      this.#uploads = [];
      this.#loaded = false;
      this.#error = null;
      this.#lifecycle = null;
      this.#lifecycleError = null;
    }
    void this.loadLifecycle();
    void this.refresh();
  }

  watch(): () => void {
    return this.api.onRemoteChanged((destinationId) => {
      if (destinationId === this.#destinationId) void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    const destinationId = this.#destinationId;
    if (destinationId === null) return;
    // A slow listing of a previous destination must not overwrite the current one.
    const generation = ++this.#generation;
    this.#loading = true;
    try {
      const uploads = await this.api.listRemoteUploads(destinationId);
      if (generation !== this.#generation) return;
      this.#uploads = [...uploads].sort((a, b) => (a.initiated ?? '').localeCompare(b.initiated ?? ''));
      this.#error = null;
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#error = toErrorInfo(err, 'ListMultipartUploads');
    } finally {
      if (generation === this.#generation) {
        this.#loading = false;
        this.#loaded = true;
      }
    }
  }

  /** Reads the bucket's lifecycle rules afresh (another tool or `hoist uploads lifecycle` may have changed them). */
  async loadLifecycle(): Promise<void> {
    const destinationId = this.#destinationId;
    if (destinationId === null) return;
    try {
      const summary = await this.api.lifecycleRule(destinationId);
      if (destinationId !== this.#destinationId) return;
      this.#lifecycle = summary;
      this.#lifecycleError = null;
    } catch (err) {
      if (destinationId !== this.#destinationId) return;
      this.#lifecycleError = toErrorInfo(err, 'GetBucketLifecycleConfiguration');
    }
  }

  async abort(upload: RemoteUploadSummary): Promise<Outcome<void>> {
    const destinationId = this.#requireDestination();
    const out = await attempt('AbortMultipartUpload', () => this.api.abortRemoteUpload(destinationId, upload.key, upload.uploadId));
    if (out.ok) this.notices.success(`Aborted the upload of ${upload.key}.`);
    void this.refresh();
    return out;
  }

  async abortOrphans(olderThanDays: number): Promise<Outcome<{ aborted: number; kept: number }>> {
    const destinationId = this.#requireDestination();
    const out = await attempt('abortOrphans', () => this.api.abortOrphans(destinationId, olderThanDays));
    if (out.ok) {
      const { aborted, kept } = out.value;
      const keptText = kept ? `; ${kept} kept (owned by a job, or newer)` : '';
      this.notices.success(`Aborted ${aborted} orphaned upload${aborted === 1 ? '' : 's'}${keptText}.`);
    }
    void this.refresh();
    return out;
  }

  async installLifecycleRule(days: number): Promise<Outcome<{ rules: number }>> {
    const destinationId = this.#requireDestination();
    const out = await attempt('PutBucketLifecycleConfiguration', () => this.api.installLifecycleRule(destinationId, days));
    if (out.ok) {
      const { rules } = out.value;
      this.notices.success(`Lifecycle rule installed: incomplete uploads are aborted after ${days} day${days === 1 ? '' : 's'}. The bucket has ${rules} rule${rules === 1 ? '' : 's'}.`);
    }
    await this.loadLifecycle();
    return out;
  }

  #requireDestination(): number {
    if (this.#destinationId === null) throw new Error('No destination is selected.');
    return this.#destinationId;
  }
}
