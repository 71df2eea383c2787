// The HoistApi over an Engine: what both hosts (Electron IPC, the headless WebSocket bridge) carry
// to the renderer. Arguments arrive already validated (src-main/hosts/schemas.ts); this module
// turns engine records into the shared contract's plain data and events into coalesced pushes.
import { EventEmitter } from 'node:events';
import type { HoistApi, JobAction, JobActionResult, JobDetail, JobQuery, JobTarget, RunnerState, Unsubscribe } from '../../shared/contract.js';
import { HoistError } from '../../shared/errors.js';
import type { DirectoryListing, SendDefaults, SendFilesInput, SendPreview, SendResult } from '../../shared/local-files.js';
import type { SetupInfo } from '../../shared/setup.js';
import type { Priority } from '../../shared/states.js';
import type {
  ConnectionCheck,
  Credentials,
  Destination,
  DestinationInput,
  Job,
  JobProgress,
  RemoteUploadSummary,
  Totals,
  WatchedFolder,
  WatchedFolderInput,
} from '../../shared/types.js';
import { ApiJobs, type ApiJobsEngine } from './api-jobs.js';
import type { Engine } from './engine.js';
import { logFilePath } from './log-file.js';
import { ControlsApiBase, type ControlsEngine } from './controls/controls-api.js';
import { logger } from './log.js';
import { mapLimit } from './map-limit.js';
import { pick, publicBatchOf, publicPartOf } from './public-records.js';
import { RecordsApi, type RecordsEngine } from './records-api.js';
import { testConnection } from './remote/connection-test.js';
import { fromErrorInfo, toHoistError } from './s3/errors.js';
import type { SecretStore } from './secrets.js';
import { listDirectory } from './sources/browse.js';
import { SourceRoots, defaultRoots } from './sources/roots.js';
import { FileSender } from './sources/send.js';
import { SetupService, type SetupOptions } from './setup/setup-service.js';
import type { JobRecord, JobStore } from './store/job-store.js';

const log = logger('api');

/** What the API needs of the engine: its events, job commands, destinations and the bucket's uploads. */
export type ApiEngine = ApiJobsEngine & ControlsEngine & Pick<
  Engine,
  | 'on' | 'off' | 'leaseState' | 'getJob' | 'batch' | 'parts' | 'events' | 'progress' | 'listJobs'
  | 'saveDestination' | 'removeDestination' | 'clientFor' | 'listUploads' | 'listRemoteParts' | 'abortUpload' | 'abortOrphans' | 'enqueue'
> & { readonly store: Pick<JobStore, 'queryJobs' | 'listDestinations' | 'totals' | 'getDestination' | 'setCredentialOrigin' | 'recordChecksumProbe' | 'jobIdsForUpload' | 'sendDefaults'> } & RecordsEngine;

/** The watch-folder side the API needs (src-main/engine/folders/folder-watcher.ts implements it). */
export interface FolderService {
  addFolder(input: WatchedFolderInput): Promise<WatchedFolder>;
  removeFolder(id: number, unfinished: 'keep' | 'cancel'): Promise<void>;
  setFolderWebhook(id: number, url: string | null): WatchedFolder;
  setFolderPriority(id: number, priority: Priority): WatchedFolder;
  listFolders(): WatchedFolder[];
}

export interface EngineApiOptions {
  folders?: FolderService;
  /** Where saved credentials go; without one (the headless host) saving credentials is refused. */
  secrets?: SecretStore;
  /** Progress pushes are at least this far apart (the contract promises about 10 a second). */
  progressIntervalMs?: number;
  /** Remote-changed pushes for one destination are gathered over this long. */
  remoteIntervalMs?: number;
  /** The folders files may be listed and sent from (sources/roots.ts); default: the user's home. */
  roots?: readonly string[];
  /** A first run: the local test server, when the host may offer it (setup/setup-service.ts). */
  setup?: SetupOptions;
  /** The log file this process writes (default: the shared one, engine/log-file.ts). */
  logFile?: string;
}

export const MAX_JOBS_PAGE = 500;
const DEFAULT_JOBS_PAGE = 100;
/** ListParts calls in flight while sizing the bucket's uploads. */
const LIST_PARTS_CONCURRENCY = 8;
const DAY_MS = 86_400_000;

const NO_SECRETS_MESSAGE =
  'This host keeps no credentials (it has no OS keychain to encrypt them). Start `hoist serve` with AWS_PROFILE, ' +
  'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, in its environment, and name the profile in the destination.';

interface ApiEvents {
  job: [job: Job];
  progress: [progress: JobProgress[]];
  remote: [destinationId: number];
  runner: [state: RunnerState];
}

/** The contract's fields, listed so that a column the engine adds never leaks to a renderer by itself. */
const JOB_FIELDS = {
  id: true, destinationId: true, destination: true, sourcePath: true, bucket: true, key: true, size: true, state: true, priority: true, mode: true,
  partSize: true, partCount: true, partsDone: true, bytesDone: true, checksumAlgorithm: true, uploadId: true, uploadKept: true, etag: true, versionId: true,
  error: true, flag: true, attempts: true, createdAt: true, startedAt: true, finishedAt: true,
  hashAlgorithms: true, hashes: true, verifiedBy: true, batchId: true, serverEncryption: true, etagVerified: true, integrity: true,
  ifExists: true, outcome: true, waitingFor: true, clearedAt: true, proof: true, integrityMode: true, contentMd5: true, checksumType: true, fullObjectChecksum: true,
  node: true,
} as const satisfies Record<keyof Job, true>;

/** A job as the contract shows it, without the engine's internal columns. */
export function publicJobOf(record: JobRecord): Job {
  return pick<Job>(record, JOB_FIELDS);
}

export class EngineApi extends ControlsApiBase implements HoistApi {
  private readonly events = new EventEmitter<ApiEvents>();
  private readonly progressIntervalMs: number;
  private readonly remoteIntervalMs: number;
  private latestProgress: JobProgress[] | null = null;
  private lastProgressAt = 0;
  /** Whether the last push listed live jobs. */
  private progressShowing = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly remoteDirty = new Set<number>();
  private remoteTimer: NodeJS.Timeout | null = null;
  /** The upload id each unfinished multipart job was last seen with, to notice the bucket's list changing. */
  private readonly knownUploads = new Map<number, string | null>();
  private readonly detach: () => void;
  private readonly roots: SourceRoots;
  private readonly sender: FileSender;
  private readonly setup: SetupService;
  private readonly records: RecordsApi;
  private readonly jobs: ApiJobs;

  constructor(
    private readonly engine: ApiEngine,
    private readonly opts: EngineApiOptions = {},
  ) {
    super(engine);
    this.progressIntervalMs = opts.progressIntervalMs ?? 100;
    this.remoteIntervalMs = opts.remoteIntervalMs ?? 250;
    this.roots = new SourceRoots(opts.roots ?? defaultRoots());
    this.sender = new FileSender(engine, this.roots);
    this.setup = new SetupService(engine, opts.setup ?? {}, opts.secrets !== undefined);
    this.records = new RecordsApi(engine, opts.logFile ?? logFilePath());
    this.jobs = new ApiJobs(engine, { jobsChanged: (ids) => this.emitJobs(ids), remoteChanged: (id) => this.remoteChanged(id) });
    // Every connected window or browser tab subscribes; the default cap of 10 would only warn.
    this.events.setMaxListeners(0);
    const onJob = (record: JobRecord) => this.jobChanged(record);
    const onProgress = (progress: JobProgress[]) => this.queueProgress(progress);
    const onLease = (state: RunnerState) => this.events.emit('runner', state);
    engine.on('job', onJob);
    engine.on('progress', onProgress);
    engine.on('lease', onLease);
    this.detach = () => {
      engine.off('job', onJob);
      engine.off('progress', onProgress);
      engine.off('lease', onLease);
    };
  }

  /** Stops listening to the engine and drops pending pushes (the engine itself is closed by its owner). */
  dispose(): void {
    this.detach();
    this.setup.dispose();
    if (this.progressTimer) clearTimeout(this.progressTimer);
    if (this.remoteTimer) clearTimeout(this.remoteTimer);
    this.progressTimer = this.remoteTimer = null;
    this.events.removeAllListeners();
  }

  // ---- queries ----

  async listJobs(query: JobQuery): Promise<{ jobs: Job[]; total: number }> {
    const page = this.engine.store.queryJobs({
      ...(query.states?.length ? { states: query.states } : {}),
      ...(query.search ? { search: query.search } : {}),
      offset: query.offset ?? 0,
      limit: Math.min(query.limit ?? DEFAULT_JOBS_PAGE, MAX_JOBS_PAGE),
      sort: query.sort ?? 'id',
      descending: query.descending ?? false,
    });
    return { jobs: page.jobs.map(publicJobOf), total: page.total };
  }

  async getJob(id: number): Promise<JobDetail | null> {
    const record = this.engine.getJob(id);
    if (!record) return null;
    const batch = record.batchId === null ? undefined : this.engine.batch(record.batchId);
    return { job: publicJobOf(record), parts: this.engine.parts(id).map(publicPartOf), history: this.engine.events(id), batch: batch ? publicBatchOf(batch) : null };
  }

  async listFolders(): Promise<WatchedFolder[]> {
    return this.opts.folders?.listFolders() ?? [];
  }

  async listDestinations(): Promise<Destination[]> {
    return this.engine.store.listDestinations();
  }

  /** Jobs per state; bytes of the unfinished jobs as the database records them; the live rate. */
  async totals(): Promise<Totals> {
    const rate = this.engine.progress().reduce((sum, p) => sum + p.rate, 0);
    return { ...this.engine.store.totals(), rate };
  }

  async runnerState(): Promise<RunnerState> {
    return this.engine.leaseState;
  }

  async listRemoteUploads(destinationId: number, prefix?: string): Promise<RemoteUploadSummary[]> {
    const dest = this.destination(destinationId);
    const uploads = await this.engine.listUploads(dest, prefix ?? '');
    let partsDenied = false;
    const sized = await mapLimit(uploads, LIST_PARTS_CONCURRENCY, async (u): Promise<RemoteUploadSummary | null> => {
      if (partsDenied) return { ...u, parts: null, bytes: null };
      try {
        const parts = await this.engine.listRemoteParts(dest, u.key, u.uploadId);
        return { ...u, parts: parts.length, bytes: parts.reduce((sum, p) => sum + p.size, 0) };
      } catch (err) {
        const e = toHoistError(err, 'ListParts');
        if (e.code === 's3.no-such-upload') return null; // completed or aborted since the listing
        // Without ListParts permission the sizes are unknown, not an error: say so once, not per upload.
        if (e.code === 's3.access-denied') partsDenied = true;
        return { ...u, parts: null, bytes: null };
      }
    });
    return sized.filter((u): u is RemoteUploadSummary => u !== null);
  }

  // ---- commands ----

  async addFolder(input: WatchedFolderInput): Promise<WatchedFolder> {
    this.destination(input.destinationId);
    return this.folders().addFolder(input);
  }

  async removeFolder(id: number, unfinished: 'keep' | 'cancel'): Promise<void> {
    await this.folders().removeFolder(id, unfinished);
  }

  async setFolderWebhook(id: number, url: string | null): Promise<WatchedFolder> {
    return this.folders().setFolderWebhook(id, url);
  }

  async setFolderPriority(id: number, priority: Priority): Promise<WatchedFolder> {
    return this.folders().setFolderPriority(id, priority);
  }

  async saveDestination(input: DestinationInput & { id?: number }, credentials?: Credentials): Promise<Destination> {
    if (credentials && !this.opts.secrets) throw new HoistError('config.invalid', { message: NO_SECRETS_MESSAGE });
    const saved = this.engine.saveDestination(input);
    if (credentials) {
      try {
        await this.opts.secrets!.set(saved.id, credentials);
      } catch (err) {
        // A new destination whose credentials could not be kept is not left half made.
        if (input.id === undefined) this.engine.removeDestination(saved.id);
        throw err;
      }
      // Other processes (the CLI, `hoist serve`) then refuse it rather than use other credentials.
      this.engine.store.setCredentialOrigin(saved.id, 'saved');
      return this.engine.store.getDestination(saved.id)!;
    }
    return saved;
  }

  async removeDestination(id: number): Promise<void> {
    this.engine.removeDestination(id);
    await this.opts.secrets?.delete(id);
  }

  async testConnection(destinationId: number): Promise<ConnectionCheck[]> {
    const dest = this.destination(destinationId);
    return testConnection(dest, () => this.engine.clientFor(dest), this.engine.store);
  }

  // ---- one job's course, or every job's (api-jobs.ts) ----

  async pauseJob(id: number): Promise<boolean> { return this.jobs.pauseJob(id); }
  async resumeJob(id: number): Promise<boolean> { return this.jobs.resumeJob(id); }
  async cancelJob(id: number): Promise<boolean> { return this.jobs.cancelJob(id); }
  async retryJob(id: number): Promise<boolean> { return this.jobs.retryJob(id); }
  async setPriority(id: number, priority: Priority): Promise<boolean> { return this.jobs.setPriority(id, priority); }
  async pauseAll(): Promise<number> { return this.jobs.pauseAll(); }
  async resumeAll(): Promise<number> { return this.jobs.resumeAll(); }
  async actOnJobs(target: JobTarget, action: JobAction): Promise<JobActionResult> { return this.jobs.actOnJobs(target, action); }

  async abortRemoteUpload(destinationId: number, key: string, uploadId: string): Promise<void> {
    const dest = this.destination(destinationId);
    const owners = this.engine.store.jobIdsForUpload(uploadId);
    try {
      const owed = await this.engine.abortUpload(dest, key, uploadId);
      // Still owed: the job shows why (refused, still listed), or the process working the queue sends it.
      const why = owed?.jobId ? this.engine.getJob(owed.jobId)?.error : null;
      if (owed) throw why ? fromErrorInfo(why) : new HoistError('s3.upload-still-there', { operation: 'AbortMultipartUpload', detail: owed.lastError ?? 'not tried yet: another Hoist process works the queue and sends it' });
    } finally {
      this.emitJobs(owners);
      this.remoteChanged(destinationId);
    }
  }

  async abortOrphans(destinationId: number, olderThanDays: number): Promise<{ aborted: number; kept: number }> {
    const dest = this.destination(destinationId);
    const result = await this.engine.abortOrphans(dest, { olderThanMs: olderThanDays * DAY_MS });
    if (result.aborted.length > 0) this.remoteChanged(destinationId);
    return { aborted: result.aborted.length, kept: result.kept.length };
  }

  // ---- after the uploads: batches, webhooks, the lifecycle rule, support (records-api.ts) ----
  readonly listBatches: HoistApi['listBatches'] = () => this.records.listBatches();
  readonly retryBatch: HoistApi['retryBatch'] = (id) => this.records.retryBatch(id);
  readonly listWebhookDeliveries: HoistApi['listWebhookDeliveries'] = (owedOnly) => this.records.listWebhookDeliveries(owedOnly);
  readonly retryWebhookDeliveries: HoistApi['retryWebhookDeliveries'] = (ids) => this.records.retryWebhookDeliveries(ids);
  readonly lifecycleRule: HoistApi['lifecycleRule'] = (destinationId) => this.records.lifecycleRule(destinationId);
  readonly installLifecycleRule: HoistApi['installLifecycleRule'] = (destinationId, days) => this.records.installLifecycleRule(destinationId, days);
  readonly supportInfo: HoistApi['supportInfo'] = () => this.records.supportInfo();

  // ---- send files now (sources/: every path checked against the roots first) ----

  async listDirectory(path: string | null): Promise<DirectoryListing> {
    return listDirectory(this.roots, path);
  }

  async previewSend(input: SendFilesInput): Promise<SendPreview> {
    return this.sender.preview(input);
  }

  async sendFiles(input: SendFilesInput): Promise<SendResult> {
    // The engine reports the jobs it queues ('job' events): the hosts show them from then on.
    return this.sender.send(input);
  }

  async sendDefaults(): Promise<SendDefaults[]> {
    return this.sender.defaults();
  }

  // ---- a first run (setup/) ----

  setupInfo = (): Promise<SetupInfo> => this.setup.info();
  testDraftDestination = (input: DestinationInput, credentials?: Credentials): Promise<ConnectionCheck[]> => this.setup.testDraft(input, credentials);
  useLocalTestServer = (): Promise<Destination> => this.setup.useLocalTestServer();

  // ---- events ----

  onJobChanged(listener: (job: Job) => void): Unsubscribe {
    return this.subscribe('job', listener);
  }

  onProgress(listener: (progress: JobProgress[]) => void): Unsubscribe {
    return this.subscribe('progress', listener);
  }

  onRemoteChanged(listener: (destinationId: number) => void): Unsubscribe {
    return this.subscribe('remote', listener);
  }

  onRunnerChanged(listener: (state: RunnerState) => void): Unsubscribe {
    return this.subscribe('runner', listener);
  }

  // ---- inside ----

  private subscribe<K extends keyof ApiEvents>(event: K, listener: (...args: ApiEvents[K]) => void): Unsubscribe {
    // A listener that throws must not break the engine's emitter or the other listeners.
    const guarded = ((...args: ApiEvents[K]) => {
      try {
        listener(...args);
      } catch (err) {
        log.warn(`a ${event} listener failed: ${(err as Error)?.message ?? String(err)}`);
      }
    }) as never;
    this.events.on(event, guarded);
    return () => {
      this.events.off(event, guarded);
    };
  }

  private destination(id: number): Destination {
    const dest = this.engine.store.getDestination(id);
    if (!dest) throw new HoistError('config.invalid', { message: `There is no destination ${id}.` });
    return dest;
  }

  private folders(): FolderService {
    if (!this.opts.folders) throw new HoistError('config.invalid', { message: 'Watch folders are not available in this host.' });
    return this.opts.folders;
  }

  private emitJobs(ids: readonly number[]): void {
    if (ids.length === 0) return;
    for (const record of this.engine.listJobs({ ids })) this.jobChanged(record);
  }

  private jobChanged(record: JobRecord): void {
    this.noticeRemoteChange(record);
    this.events.emit('job', publicJobOf(record));
    // The scheduler goes quiet when nothing is live; one empty snapshot clears the hosts' bars.
    if (this.progressShowing && this.engine.progress().length === 0) this.queueProgress([]);
  }

  /** A multipart job that gets an upload id, or ends, changes the bucket's in-progress list. */
  private noticeRemoteChange(record: JobRecord): void {
    if (record.mode !== 'multipart') return;
    const ended = record.state === 'done' || record.state === 'cancelled';
    const before = this.knownUploads.get(record.id);
    if (ended) {
      if (before) this.remoteChanged(record.destinationId);
      this.knownUploads.delete(record.id);
    } else if (before !== record.uploadId) {
      if (before !== undefined || record.uploadId !== null) this.remoteChanged(record.destinationId);
      this.knownUploads.set(record.id, record.uploadId);
    }
  }

  private remoteChanged(destinationId: number): void {
    this.remoteDirty.add(destinationId);
    if (this.remoteTimer) return;
    this.remoteTimer = setTimeout(() => {
      this.remoteTimer = null;
      const ids = [...this.remoteDirty];
      this.remoteDirty.clear();
      for (const id of ids) this.events.emit('remote', id);
    }, this.remoteIntervalMs);
    this.remoteTimer.unref();
  }

  /** Keeps only the latest snapshot and pushes it at most once per interval. */
  private queueProgress(progress: JobProgress[]): void {
    this.latestProgress = progress;
    if (this.progressTimer) return;
    const wait = Math.max(0, this.lastProgressAt + this.progressIntervalMs - Date.now());
    this.progressTimer = setTimeout(() => {
      this.progressTimer = null;
      this.lastProgressAt = Date.now();
      const latest = this.latestProgress;
      this.latestProgress = null;
      if (!latest) return;
      this.progressShowing = latest.length > 0;
      this.events.emit('progress', latest);
    }, wait);
    this.progressTimer.unref();
  }
}
