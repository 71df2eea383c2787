// "Send files now" (issue 14): files and folders dropped on the window or picked, then queued with
// the send sheet's settings. Under the desktop app the preload gives dropped files' paths and native
// pickers (`window.hoistFiles`); in a browser, which cannot reveal paths, picking goes through the
// host's file browser (file-browser.svelte.ts) and a drop opens it with a word of explanation.
import type { HoistApi } from '../../shared/contract.js';
import type { DesktopFiles, SendDefaults, SendFilesInput, SendPreview, SendResult } from '../../shared/local-files.js';
import { formatBytes, formatCount } from './format.js';
import { attempt, type NoticeManager, type Outcome } from './notices.svelte.js';

export type PickKind = 'files' | 'folders';

export class SendManager {
  #paths = $state.raw<string[]>([]);
  #sheetOpen = $state(false);
  #browser = $state.raw<{ kind: PickKind; note: string | null } | null>(null);
  #defaults = $state.raw<SendDefaults[]>([]);
  #defaultDestinationId = $state<number | null>(null);

  constructor(
    private readonly api: HoistApi,
    private readonly files: DesktopFiles | null,
    private readonly notices: NoticeManager,
  ) {}

  /** The files and folders staged for the sheet, in the order they were added. */
  get paths(): string[] {
    return this.#paths;
  }
  get sheetOpen(): boolean {
    return this.#sheetOpen;
  }
  set sheetOpen(open: boolean) {
    this.#sheetOpen = open;
    if (!open) this.#paths = [];
  }
  /** The host's file browser, when it is open: what it picks, and why it opened (a drop in a browser). */
  get browser(): { kind: PickKind; note: string | null } | null {
    return this.#browser;
  }
  /** Whether dropped files can be sent as they are (the desktop app), or need the host's file browser. */
  get dropsCarryPaths(): boolean {
    return this.files !== null;
  }
  /** The app's default destination (Settings), which the sheet opens on; null: the one used last. */
  get defaultDestinationId(): number | null {
    return this.#defaultDestinationId;
  }
  /** Settings last used per destination, latest first. */
  get defaults(): SendDefaults[] {
    return this.#defaults;
  }

  /** "Add files…" / "Add folder…": the native dialog in the desktop app, the host's file browser otherwise. */
  async pick(kind: PickKind): Promise<void> {
    if (!this.files) {
      this.#browser = { kind, note: null };
      return;
    }
    const chosen = await this.notices.run('choose', () => this.files!.choose(kind));
    if (chosen?.length) this.stage(chosen);
  }

  /** Files dropped on the window (the DOM's File objects). */
  drop(dropped: readonly File[]): void {
    if (dropped.length === 0) return;
    if (!this.files) {
      this.#browser = {
        kind: 'files',
        note: `A browser does not tell Hoist where dropped files are on disk, so choose ${dropped.length === 1 ? `“${dropped[0]!.name}”` : 'them'} here, from the folders this Hoist may read.`,
      };
      return;
    }
    const paths = this.files.pathsOf(dropped);
    if (paths.length === 0) {
      this.notices.error({ code: 'config.invalid', message: 'Those items have no path on this computer (dragged from a web page?). Drop files or folders from the file manager.' }, 'drop');
      return;
    }
    this.stage(paths);
  }

  closeBrowser(): void {
    this.#browser = null;
  }

  /** Adds paths to what the sheet sends (a second drop adds to the first) and opens it. */
  stage(paths: readonly string[]): void {
    this.#paths = [...new Set([...this.#paths, ...paths])];
    this.#browser = null;
    if (!this.#sheetOpen) void this.loadDefaults();
    this.#sheetOpen = true;
  }

  unstage(path: string): void {
    this.#paths = this.#paths.filter((p) => p !== path);
    if (this.#paths.length === 0) this.#sheetOpen = false;
  }

  async loadDefaults(): Promise<void> {
    const [list, settings] = await Promise.all([this.notices.run('sendDefaults', () => this.api.sendDefaults()), this.api.getSettings().catch(() => null)]);
    if (settings) this.#defaultDestinationId = settings.defaultDestinationId;
    if (list) this.#defaults = list;
  }

  preview(input: SendFilesInput): Promise<Outcome<SendPreview>> {
    return attempt('previewSend', () => this.api.previewSend(input));
  }

  async send(input: SendFilesInput, destinationName: string): Promise<Outcome<SendResult>> {
    const out = await attempt('sendFiles', () => this.api.sendFiles(input));
    if (out.ok) {
      const { files, bytes } = out.value;
      this.notices.success(`Queued ${formatCount(files)} ${files === 1 ? 'file' : 'files'} (${formatBytes(bytes)}) for ${destinationName}.`);
      this.sheetOpen = false;
      void this.loadDefaults();
    }
    return out;
  }
}
