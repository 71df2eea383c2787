// The app's global settings (issue 14), one row per setting with its value as JSON, read over the
// defaults (shared/controls.ts): a setting never saved has its default, and a setting added later
// needs no migration. Values arrive validated (hosts/schemas.ts, engine/controls/).
import { DEFAULT_SETTINGS, type AppSettings } from '../../../shared/controls.js';
import type { Db } from './db.js';

type Row = { key: string; value: string };

export class SettingsStore {
  private readonly s;

  constructor(readonly db: Db, private readonly now: () => number = Date.now) {
    this.s = {
      all: db.prepare('SELECT key, value FROM app_settings'),
      put: db.prepare(`INSERT INTO app_settings (key, value, updated_at) VALUES (?, ?, ?)
                       ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
    };
  }

  /** Only the settings saved so far (the rest are at their defaults). */
  saved(): Partial<AppSettings> {
    const out: Record<string, unknown> = {};
    for (const r of this.s.all.all() as Row[]) if (r.key in DEFAULT_SETTINGS) out[r.key] = JSON.parse(r.value);
    return out as Partial<AppSettings>;
  }

  get(): AppSettings {
    const saved = this.saved();
    return { ...DEFAULT_SETTINGS, ...saved, notifications: { ...DEFAULT_SETTINGS.notifications, ...saved.notifications } };
  }

  /** Saves every setting in one transaction. */
  save(settings: AppSettings): void {
    const at = this.now();
    this.db.transaction(() => {
      for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof AppSettings)[]) this.s.put.run(key, JSON.stringify(settings[key]), at);
    })();
  }
}
