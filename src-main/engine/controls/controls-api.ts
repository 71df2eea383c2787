// The HoistApi's controls (issue 14, shared/controls.ts): bandwidth limits with their weekly timetable,
// automatic concurrency per destination with where it stands now, and the app's global settings.
// EngineApi (api.ts) extends this class, so both hosts carry these commands like the others; the
// arguments arrive validated (hosts/schemas.ts), and what needs the database is checked here.
import { EventEmitter } from 'node:events';
import type { AppSettings, BandwidthLimitInput, ControlsApi, DestinationPace, PaceState } from '../../../shared/controls.js';
import { HoistError } from '../../../shared/errors.js';
import type { BandwidthLimit, Destination } from '../../../shared/types.js';
import type { Engine } from '../engine.js';
import { logger, setLogLevel } from '../log.js';
import type { JobStore } from '../store/job-store.js';
import { SettingsStore } from '../store/settings-store.js';

const log = logger('controls');

/** What the controls need of the engine: its pace commands, whether it works the queue, the destinations. */
export type ControlsEngine = Pick<Engine, 'pace' | 'running'> & {
  readonly store: Pick<JobStore, 'listDestinations' | 'getDestination' | 'db'>;
};

export class ControlsApiBase implements ControlsApi {
  private readonly settingsStore: SettingsStore;
  private readonly settingsEvents = new EventEmitter<{ settings: [settings: AppSettings] }>();

  constructor(private readonly controlled: ControlsEngine) {
    this.settingsStore = new SettingsStore(controlled.store.db);
    this.settingsEvents.setMaxListeners(0);
    // A level chosen in the app applies to every process that opens this database, from its start.
    const level = this.settingsStore.saved().logLevel;
    if (level) setLogLevel(level);
  }

  async paceState(): Promise<PaceState> {
    const working = this.controlled.running;
    const limits = this.controlled.pace.bandwidthLimits().map((l) => (working ? l : { ...l, holding: false }));
    return { limits, destinations: this.controlled.store.listDestinations().map((d) => this.paceOf(d)), working };
  }

  async setBandwidthLimit(input: BandwidthLimitInput): Promise<BandwidthLimit | null> {
    const set = this.controlled.pace.setBandwidthLimit(input);
    log.info(`bandwidth limit ${input.destinationId === null ? 'for all uploads' : `for destination ${input.destinationId}`} set`, { bytesPerSecond: input.bytesPerSecond, windows: input.schedule.length });
    // No rate and no windows: the limit is gone.
    return input.bytesPerSecond === null && input.schedule.length === 0 ? null : set;
  }

  async setConcurrencyBounds(destinationId: number, bounds: { min: number; max: number } | null): Promise<DestinationPace> {
    this.controlled.pace.setConcurrencyBounds(destinationId, bounds);
    return this.paceOf(this.controlled.store.getDestination(destinationId)!);
  }

  async getSettings(): Promise<AppSettings> {
    const settings = this.settingsStore.get();
    // A default destination removed since reads as none.
    if (settings.defaultDestinationId !== null && !this.controlled.store.getDestination(settings.defaultDestinationId)) settings.defaultDestinationId = null;
    return settings;
  }

  async saveSettings(settings: AppSettings): Promise<AppSettings> {
    if (settings.defaultDestinationId !== null && !this.controlled.store.getDestination(settings.defaultDestinationId)) {
      throw new HoistError('config.invalid', { message: `There is no destination ${settings.defaultDestinationId} to make the default.` });
    }
    this.settingsStore.save(settings);
    setLogLevel(settings.logLevel);
    const saved = await this.getSettings();
    this.settingsEvents.emit('settings', saved);
    return saved;
  }

  /** The desktop shell follows the settings (start at login, notifications); not part of the contract. */
  onSettingsChanged(listener: (settings: AppSettings) => void): () => void {
    this.settingsEvents.on('settings', listener);
    return () => this.settingsEvents.off('settings', listener);
  }

  private paceOf(d: Destination): DestinationPace {
    const { limit, bounds, decisions } = this.controlled.pace.concurrencyOf(d.id);
    return {
      destinationId: d.id,
      name: d.name,
      concurrency: d.concurrency,
      automatic: bounds ? { min: bounds.min, max: bounds.max } : null,
      current: this.controlled.running ? limit : null,
      lastDecision: decisions.at(-1) ?? null,
    };
  }
}
