// "Send files now" (issue 14): files and folders on this computer queued as `hoist upload` would
// queue them, and the host's file browser that lets a browser tab pick them (a browser cannot
// reveal paths). Every path is checked against the roots the host was started with.
import type { FileHashAlgorithm, IfExistsPolicy, Priority } from './states.js';

/**
 * One entry of a folder the host lists. Symlinks inside the roots are followed (kind, size and date
 * are the target's); one that leads outside them is `outside`, and nothing more is told about it.
 */
export interface DirectoryEntry {
  name: string;
  /** The entry's absolute path: the listed folder's real path joined with the name. */
  path: string;
  kind: 'folder' | 'file' | 'outside';
  /** Bytes, for files; null otherwise. */
  size: number | null;
  /** Last modification, ms since the epoch (an `outside` link's own). */
  modifiedAt: number;
}

export interface DirectoryListing {
  /** The folder listed, with symlinks resolved; null for the list of the roots themselves. */
  path: string | null;
  /** The folders from its root down to it, for breadcrumbs (empty for the roots' list). */
  crumbs: Array<{ name: string; path: string }>;
  /** The folder above it, while that is still inside a root; null at a root (its parent is the roots' list). */
  parent: string | null;
  /** The roots the host may read, with symlinks resolved. */
  roots: string[];
  /** Folders first, then files, each by name as people sort them (A2 before A10). */
  entries: DirectoryEntry[];
  /** More entries than a listing carries: the first ones, in order, are shown. */
  truncated: boolean;
}

/** Files and folders to queue, and how, as `hoist upload PATHS --to NAME --prefix … --priority … --hash … [--mhl]`. */
export interface SendFilesInput {
  /** Absolute paths of files and folders; a folder's files go recursively, keyed by their path under it. */
  paths: string[];
  destinationId: number;
  /** After the destination's own prefix; '' for none. */
  prefix: string;
  priority: Priority;
  /** Whole-file hashes to record ([] for none). */
  hashes: FileHashAlgorithm[];
  /** Write an ASC MHL generation under each root's prefix once its files have arrived. */
  mhl: boolean;
  /** When a key already holds an object (`--if-exists`); left out or null: the destination's policy. */
  ifExists?: IfExistsPolicy | null;
}

/** How many files the paths come to, and where the first ones go. */
export interface SendPreview {
  files: number;
  bytes: number;
  bucket: string;
  /** The first few files, with their object keys, in the order they would be queued. */
  first: Array<{ path: string; key: string }>;
}

export interface SendResult {
  /** The jobs queued (or, for a file already queued to that key, resumed). */
  jobIds: number[];
  files: number;
  bytes: number;
}

/** What was last used for a destination: the send sheet starts from it. */
export interface SendDefaults {
  destinationId: number;
  prefix: string;
  priority: Priority;
  hashes: FileHashAlgorithm[];
  mhl: boolean;
  /** The `--if-exists` policy chosen in the sheet; null: the destination's own. */
  ifExists: IfExistsPolicy | null;
  /** When these were last used, ms since the epoch (the sheet offers the latest destination first). */
  usedAt: number;
}

/** How many entries one listing carries at most. */
export const MAX_DIRECTORY_ENTRIES = 5000;
/** How many paths one send may name (a folder counts once, however many files it holds). */
export const MAX_SEND_PATHS = 10_000;
/** How many files a preview shows with their keys. */
export const SEND_PREVIEW_FILES = 5;

/**
 * What only the desktop app can do with local files, beside the HoistApi: its preload puts it on
 * `window.hoistFiles`. Under the headless host it is absent and the renderer uses the host's
 * file browser (HoistApi.listDirectory) instead.
 */
export interface DesktopFiles {
  /** The paths of files and folders dropped on the window (the DOM's File objects; Electron's webUtils.getPathForFile). */
  pathsOf(files: readonly unknown[]): string[];
  /** A native open dialog: several files, or several folders. [] when cancelled. */
  choose(kind: 'files' | 'folders'): Promise<string[]>;
  /** Files and folders handed to the app (dropped on its dock or taskbar icon, on its command line): for the send sheet. */
  onOpen?(listener: (paths: string[]) => void): () => void;
}
