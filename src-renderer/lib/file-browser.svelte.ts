// The host's file browser (issue 14), for browsers, which cannot reveal where files are: the host
// lists the folders under its roots (HoistApi.listDirectory) and the person ticks files and folders
// to send. A path outside the roots is refused by the host; its message is shown here.
import type { HoistApi } from '../../shared/contract.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { DirectoryEntry, DirectoryListing } from '../../shared/local-files.js';
import { attempt } from './notices.svelte.js';
import type { PickKind } from './send-manager.svelte.js';

export class FileBrowserManager {
  #listing = $state.raw<DirectoryListing | null>(null);
  #loading = $state(false);
  #error = $state.raw<ErrorInfo | null>(null);
  #selected = $state.raw<Map<string, DirectoryEntry>>(new Map());
  #request = 0;

  constructor(
    private readonly api: HoistApi,
    readonly kind: PickKind,
  ) {}

  get listing(): DirectoryListing | null {
    return this.#listing;
  }
  get loading(): boolean {
    return this.#loading;
  }
  /** Why the last folder asked for could not be listed (the listing shown stays the previous one). */
  get error(): ErrorInfo | null {
    return this.#error;
  }
  get selected(): DirectoryEntry[] {
    return [...this.#selected.values()];
  }

  isSelected(entry: DirectoryEntry): boolean {
    return this.#selected.has(entry.path);
  }

  /** Folders can always be sent (their files recursively); files only when picking files. */
  selectable(entry: DirectoryEntry): boolean {
    return entry.kind === 'folder' || (entry.kind === 'file' && this.kind === 'files');
  }

  /** Lists a folder (null: the roots); the selection is kept across folders. */
  async open(path: string | null): Promise<void> {
    const request = ++this.#request;
    this.#loading = true;
    const out = await attempt('listDirectory', () => this.api.listDirectory(path));
    if (request !== this.#request) return;
    this.#loading = false;
    if (out.ok) {
      this.#listing = out.value;
      this.#error = null;
    } else {
      this.#error = out.error;
    }
  }

  toggle(entry: DirectoryEntry): void {
    if (!this.selectable(entry)) return;
    const next = new Map(this.#selected);
    if (next.has(entry.path)) next.delete(entry.path);
    else next.set(entry.path, entry);
    this.#selected = next;
  }

  /** Ticks every selectable entry of the folder shown, or clears them when all are ticked. */
  toggleAll(): void {
    const entries = (this.#listing?.entries ?? []).filter((e) => this.selectable(e));
    const next = new Map(this.#selected);
    const all = entries.length > 0 && entries.every((e) => next.has(e.path));
    for (const e of entries) {
      if (all) next.delete(e.path);
      else next.set(e.path, e);
    }
    this.#selected = next;
  }

  dismissError(): void {
    this.#error = null;
  }
}
