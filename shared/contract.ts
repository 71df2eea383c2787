// The HoistApi: everything the renderer can ask of a host. The Electron preload and the headless
// host's WebSocket client both implement it, so the renderer cannot tell them apart.
import { CONTROLS_COMMANDS, type ControlsApi } from './controls.js';
import type { DirectoryListing, SendDefaults, SendFilesInput, SendPreview, SendResult } from './local-files.js';
import type { SetupInfo } from './setup.js';
import type { AbortIncompleteSummary, BatchEntry, SupportInfo, WebhookDelivery } from './records.js';
import type { JobState, Priority } from './states.js';
import type {
  ConnectionCheck,
  Credentials,
  Destination,
  DestinationInput,
  Job,
  JobEvent,
  JobProgress,
  MhlBatch,
  Part,
  RemoteUploadSummary,
  Totals,
  WatchedFolder,
  WatchedFolderInput,
} from './types.js';

export type Unsubscribe = () => void;

export type JobSortKey = 'id' | 'state' | 'size' | 'progress' | 'createdAt';

/** Which jobs a page or a bulk command means: states (none: every state) and a file-name search. */
export interface JobFilter {
  states?: JobState[];
  /** A case-insensitive substring of the job's key or source path (at most 200 characters). */
  search?: string;
}

export interface JobQuery extends JobFilter {
  offset?: number;
  /** At most 500. */
  limit?: number;
  sort?: JobSortKey;
  descending?: boolean;
}

export interface JobDetail {
  job: Job;
  parts: Part[];
  history: JobEvent[];
  /** The ASC MHL batch the job belongs to, or null. */
  batch: MhlBatch | null;
}

/** At most this many ids in one bulk command; more is a filter ("select all in this filter"). */
export const MAX_JOB_IDS = 10_000;

/** The jobs a bulk command acts on: rows picked by id, or every job matching a filter on the host (not only the page shown). */
export type JobTarget = { ids: number[] } | { filter: JobFilter };

/** What a bulk command does: `clear` takes done and cancelled jobs off the list, keeping their records. */
export type JobAction = 'pause' | 'resume' | 'retry' | 'cancel' | 'clear' | { priority: Priority };

export interface JobActionResult {
  /** Jobs the target meant. */
  matched: number;
  /** Those the action changed (a paused job is not paused again; a running one is not retried). */
  changed: number;
}

/** Whether the host works the queue (holds the runner lease) or waits for the process that does. */
export type RunnerState = { state: 'working' } | { state: 'waiting'; pid: number; host: string } | { state: 'off' };

/** Pace and settings (issue 14) are in ControlsApi (shared/controls.ts). */
export interface HoistApi extends ControlsApi {
  // ---- queries ----
  listJobs(query: JobQuery): Promise<{ jobs: Job[]; total: number }>;
  getJob(id: number): Promise<JobDetail | null>;
  listFolders(): Promise<WatchedFolder[]>;
  listDestinations(): Promise<Destination[]>;
  totals(): Promise<Totals>;
  /** Every in-progress multipart upload on the destination's bucket (all pages), ours or orphans. */
  listRemoteUploads(destinationId: number, prefix?: string): Promise<RemoteUploadSummary[]>;

  // ---- commands ----
  addFolder(input: WatchedFolderInput): Promise<WatchedFolder>;
  /** `cancel` also aborts the unfinished jobs' uploads; `keep` leaves them to finish. */
  removeFolder(id: number, unfinished: 'keep' | 'cancel'): Promise<void>;
  /**
   * Changes, in place, where the folder's events are POSTed (null: nowhere). Events already queued
   * still go to the URL they were made for; the folder keeps watching undisturbed.
   */
  setFolderWebhook(id: number, url: string | null): Promise<WatchedFolder>;
  /** Changes, in place, the priority of the jobs the folder makes from now on (its queued jobs keep theirs: setPriority). */
  setFolderPriority(id: number, priority: Priority): Promise<WatchedFolder>;
  /** Creates (no id) or updates a destination; credentials, when given, are stored encrypted by the host. */
  saveDestination(input: DestinationInput & { id?: number }, credentials?: Credentials): Promise<Destination>;
  removeDestination(id: number): Promise<void>;
  testConnection(destinationId: number): Promise<ConnectionCheck[]>;
  pauseJob(id: number): Promise<boolean>;
  resumeJob(id: number): Promise<boolean>;
  cancelJob(id: number): Promise<boolean>;
  retryJob(id: number): Promise<boolean>;
  setPriority(id: number, priority: Priority): Promise<boolean>;
  pauseAll(): Promise<number>;
  resumeAll(): Promise<number>;
  /** One action on many jobs (the queue's selection, "Retry all failed", "Clear finished"), in one transaction where it can be. */
  actOnJobs(target: JobTarget, action: JobAction): Promise<JobActionResult>;
  abortRemoteUpload(destinationId: number, key: string, uploadId: string): Promise<void>;
  abortOrphans(destinationId: number, olderThanDays: number): Promise<{ aborted: number; kept: number }>;
  /** Adds (or updates Hoist's own) AbortIncompleteMultipartUpload rule, keeping every other rule. */
  installLifecycleRule(destinationId: number, days: number): Promise<{ rules: number }>;
  /** Working the queue, or waiting for the runner lease another Hoist holds (commands still go to the database). */
  runnerState(): Promise<RunnerState>;

  // ---- send files now (shared/local-files.ts) ----
  /**
   * A folder on the host's computer (null: the roots). Refused (`source.outside-roots`) for any
   * path that, symlinks resolved, is not under one of the roots the host was started with.
   */
  listDirectory(path: string | null): Promise<DirectoryListing>;
  /** The files the paths come to and the keys of the first few, as sendFiles would queue them; nothing is queued. */
  previewSend(input: SendFilesInput): Promise<SendPreview>;
  /** Queues the files as `hoist upload` does, and remembers the settings as the destination's defaults. */
  sendFiles(input: SendFilesInput): Promise<SendResult>;
  /** The settings last used per destination, latest first. */
  sendDefaults(): Promise<SendDefaults[]>;

  // ---- a first run that works (shared/setup.ts) ----
  /** What the "Add a destination" screen may offer here: the local test server, the keychain, the AWS profiles found. */
  setupInfo(): Promise<SetupInfo>;
  /** "Test connection" on settings not yet saved (the credentials, when given, are used for the test only and kept nowhere). */
  testDraftDestination(input: DestinationInput, credentials?: Credentials): Promise<ConnectionCheck[]>;
  /** Starts the checkout's local S3 server (radosgw), creates its bucket and adds it as a destination; refused unless setupInfo offers it. */
  useLocalTestServer(): Promise<Destination>;
  // ---- after the uploads: ASC MHL batches, webhook deliveries, the lifecycle rule, support (shared/records.ts) ----
  /** Every ASC MHL batch with its files and its owed write (`hoist batches list`). */
  listBatches(): Promise<BatchEntry[]>;
  /** Writes a failed batch's generation again (`hoist batches retry`). */
  retryBatch(id: number): Promise<BatchEntry>;
  /** Webhook events, oldest first; `owedOnly`: not delivered and not given up (`hoist webhooks [--owed]`). */
  listWebhookDeliveries(owedOnly?: boolean): Promise<WebhookDelivery[]>;
  /** Sends these events (or every one given up) again now (`hoist webhooks retry`); returns how many. */
  retryWebhookDeliveries(ids: string[] | 'given-up'): Promise<number>;
  /** The bucket's rules that abort incomplete uploads, Hoist's among them (`hoist uploads lifecycle`). */
  lifecycleRule(destinationId: number): Promise<AbortIncompleteSummary>;
  /** Where the log file is (`hoist logs`). */
  supportInfo(): Promise<SupportInfo>;

  // ---- events ----
  onJobChanged(listener: (job: Job) => void): Unsubscribe;
  /** Coalesced: at most about 10 a second. */
  onProgress(listener: (progress: JobProgress[]) => void): Unsubscribe;
  onRemoteChanged(listener: (destinationId: number) => void): Unsubscribe;
  onRunnerChanged(listener: (state: RunnerState) => void): Unsubscribe;
}

/** Method names callable over a bridge (IPC or WebSocket): every key of HoistApi but the events. */
export type HoistCommand = Exclude<keyof HoistApi, 'onJobChanged' | 'onProgress' | 'onRemoteChanged' | 'onRunnerChanged'>;

export const HOIST_COMMANDS = [
  'listJobs', 'getJob', 'listFolders', 'listDestinations', 'totals', 'listRemoteUploads',
  'addFolder', 'removeFolder', 'setFolderWebhook', 'setFolderPriority', 'saveDestination', 'removeDestination', 'testConnection',
  'pauseJob', 'resumeJob', 'cancelJob', 'retryJob', 'setPriority', 'pauseAll', 'resumeAll', 'actOnJobs',
  'abortRemoteUpload', 'abortOrphans', 'installLifecycleRule', 'runnerState',
  'listDirectory', 'previewSend', 'sendFiles', 'sendDefaults',
  'setupInfo', 'testDraftDestination', 'useLocalTestServer',
  'listBatches', 'retryBatch', 'listWebhookDeliveries', 'retryWebhookDeliveries', 'lifecycleRule', 'supportInfo',
  ...CONTROLS_COMMANDS,
] as const satisfies readonly HoistCommand[];

/** Events a host pushes to the renderer. */
export type HoistEvent =
  | { type: 'job'; job: Job }
  | { type: 'progress'; progress: JobProgress[] }
  | { type: 'remote'; destinationId: number }
  | { type: 'runner'; runner: RunnerState };
