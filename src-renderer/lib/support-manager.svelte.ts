// "Support": where the log file is, and what each host can do with it. The desktop app's preload
// reveals it in the file manager and saves a diagnostics file where the user says; in a browser the
// headless host offers both as downloads on its own origin, behind its token (the page's cookie).
import type { HoistApi } from '../../shared/contract.js';
import { SUPPORT_DIAGNOSTICS_PATH, SUPPORT_LOG_PATH, type DesktopSupport, type SupportInfo } from '../../shared/records.js';
import { attempt, type NoticeManager } from './notices.svelte.js';

export class SupportManager {
  #info = $state.raw<SupportInfo | null>(null);
  #exporting = $state(false);

  constructor(
    private readonly api: HoistApi,
    /** Null in a browser. */
    readonly desktop: DesktopSupport | null,
    private readonly notices: NoticeManager,
  ) {}

  get info(): SupportInfo | null {
    return this.#info;
  }
  get exporting(): boolean {
    return this.#exporting;
  }
  /** Links relative to the page, so they work wherever the host serves it. */
  get logHref(): string {
    return `.${SUPPORT_LOG_PATH}`;
  }
  get diagnosticsHref(): string {
    return `.${SUPPORT_DIAGNOSTICS_PATH}`;
  }

  async refresh(): Promise<void> {
    const out = await attempt('supportInfo', () => this.api.supportInfo());
    if (out.ok) this.#info = out.value;
    else this.notices.error(out.error);
  }

  async revealLog(): Promise<void> {
    if (!this.desktop) return;
    const out = await attempt('revealLogFile', () => this.desktop!.revealLogFile());
    if (!out.ok) this.notices.error(out.error);
  }

  async exportDiagnostics(): Promise<void> {
    if (!this.desktop) return;
    this.#exporting = true;
    const out = await attempt('exportDiagnostics', () => this.desktop!.exportDiagnostics());
    this.#exporting = false;
    if (!out.ok) this.notices.error(out.error);
    else if (out.value) this.notices.success(`Diagnostics saved to ${out.value}.`);
  }
}
