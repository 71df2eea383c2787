// The app's global settings (issue 14): default destination, notifications, start at login, log level.
import type { AppSettings, ControlsApi } from '../../shared/controls.js';
import { attempt, type NoticeManager, type Outcome } from './notices.svelte.js';

export class SettingsManager {
  #settings = $state.raw<AppSettings | null>(null);

  constructor(
    private readonly api: Pick<ControlsApi, 'getSettings' | 'saveSettings'>,
    private readonly notices: NoticeManager,
  ) {}

  get settings(): AppSettings | null {
    return this.#settings;
  }

  async refresh(): Promise<void> {
    const s = await this.notices.run('getSettings', () => this.api.getSettings());
    if (s) this.#settings = s;
  }

  async save(settings: AppSettings): Promise<Outcome<AppSettings>> {
    const out = await attempt('saveSettings', () => this.api.saveSettings(settings));
    if (out.ok) {
      this.#settings = out.value;
      this.notices.success('Settings saved.');
    }
    return out;
  }
}
