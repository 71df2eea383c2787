// What the app shows of the work that goes on after the uploads (issue 14): ASC MHL batches with
// their files and their owed write, webhook deliveries per folder, the bucket's lifecycle rule for
// incomplete uploads, and where the log is (support). The same data `hoist batches list`,
// `hoist webhooks`, `hoist uploads lifecycle` and `hoist logs` print.
import type { JobState } from './states.js';
import type { MhlBatch } from './types.js';

/** `hoist uploads lifecycle --days` and the app take the same range. */
export const MIN_LIFECYCLE_DAYS = 1;
export const MAX_LIFECYCLE_DAYS = 3650;

/**
 * A batch's state in words: `open` (taking files), `sealed` (complete, its generation owed),
 * `retrying` (sealed, a write failed and is tried again at `nextAttemptAt`), `written` (delivered),
 * `failed` (given up: retry it).
 */
export type BatchStatus = 'open' | 'sealed' | 'retrying' | 'written' | 'failed';

export interface BatchFile {
  jobId: number;
  sourcePath: string;
  key: string;
  state: JobState;
}

export interface BatchEntry {
  batch: MhlBatch;
  status: BatchStatus;
  /** Failed writes of its generation so far. */
  attempts: number;
  /** While `retrying`: when the next write is due (ISO 8601). */
  nextAttemptAt: string | null;
  /** `s3://bucket/<manifest key>` once a generation is planned or written. */
  manifestUrl: string | null;
  files: BatchFile[];
}

export type WebhookDeliveryState = 'delivered' | 'owed' | 'given-up';

/** One webhook event, as `hoist webhooks --json` lists it, with the folder it came from. */
export interface WebhookDelivery {
  id: string;
  kind: string;
  url: string;
  state: WebhookDeliveryState;
  attempts: number;
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
  lastError: string | null;
  /** The watched folder the event speaks of (null when the body names none). */
  folderId: number | null;
  folderPath: string | null;
}

/** One rule that aborts incomplete multipart uploads. */
export interface AbortIncompleteRule {
  id: string | null;
  /** Days after an upload begins that it is aborted. */
  days: number;
  /** Only keys under this prefix ('' for the whole bucket). */
  prefix: string;
  enabled: boolean;
}

/** What the bucket's lifecycle configuration says of incomplete multipart uploads (`hoist uploads lifecycle --json`). */
export interface AbortIncompleteSummary {
  bucket: string;
  /** Hoist's own rule (id `hoist-abort-incomplete-multipart`), or null when the bucket lacks it. */
  rule: AbortIncompleteRule | null;
  /** The bucket's other rules that abort incomplete uploads. */
  others: AbortIncompleteRule[];
  /** Every rule the bucket has, of any kind. */
  rules: number;
}

/** Where the log file is, for "Reveal log file" (the desktop app) or its download (the headless host). */
export interface SupportInfo {
  logFile: string;
  logExists: boolean;
  appVersion: string;
}

/** The headless host's downloads, behind its token (the page's cookie): GET these paths on its origin. */
export const SUPPORT_LOG_PATH = '/support/hoist.log';
export const SUPPORT_DIAGNOSTICS_PATH = '/support/diagnostics';

/** The desktop app's preload adds `window.hoistSupport`: the shell reveals the log and saves a diagnostics file where the user says. */
export interface DesktopSupport {
  revealLogFile(): Promise<void>;
  /** Asks where to save, writes the file; null when the user cancelled. */
  exportDiagnostics(): Promise<string | null>;
}
