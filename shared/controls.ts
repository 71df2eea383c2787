// The app's controls (issue 14): pace (bandwidth limits with their weekly timetable, automatic
// concurrency per destination) and the global settings. Part of the HoistApi (contract.ts extends
// ControlsApi); the engine side is src-main/engine/controls/, the screens are Pace and Settings.
import type { BandwidthLimit, BandwidthWindow, ConcurrencyDecision } from './types.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type AppLogLevel = (typeof LOG_LEVELS)[number];

/** What is global to the app, kept in the database (app_settings). */
export interface AppSettings {
  /** The destination the send sheet opens on (null: the one used last). */
  defaultDestinationId: number | null;
  /** Desktop notifications, per kind (the desktop app; a browser tab shows none). */
  notifications: {
    /** Uploads sent together have all arrived (the queue went quiet with them done). */
    batchDelivered: boolean;
    jobFailed: boolean;
  };
  /** The desktop app starts when the user logs in, in the tray, and resumes the queue. */
  startAtLogin: boolean;
  /** The log file's level, applied at once to the running process. */
  logLevel: AppLogLevel;
}

export const DEFAULT_SETTINGS: AppSettings = {
  defaultDestinationId: null,
  notifications: { batchDelivered: true, jobFailed: true },
  startAtLogin: false,
  logLevel: 'info',
};

/** Sets one limit: the global one (destinationId null) or a destination's; no rate and no windows removes it. */
export interface BandwidthLimitInput {
  destinationId: number | null;
  bytesPerSecond: number | null;
  schedule: BandwidthWindow[];
}

/** A destination's concurrency: fixed, or automatic within bounds, and where it is now. */
export interface DestinationPace {
  destinationId: number;
  name: string;
  /** The destination's own (fixed) concurrency. */
  concurrency: number;
  /** Automatic concurrency's bounds, or null (fixed). */
  automatic: { min: number; max: number } | null;
  /** Parts in flight allowed now (null: no traffic to it in this process yet, or the queue is worked elsewhere). */
  current: number | null;
  /** The tuner's latest decision, if any. */
  lastDecision: ConcurrencyDecision | null;
}

export interface PaceState {
  /** The limits set (none: unlimited everywhere). */
  limits: BandwidthLimit[];
  destinations: DestinationPace[];
  /** Whether this host works the queue: the live figures (current, holding) come only from there. */
  working: boolean;
}

export interface ControlsApi {
  /** The limits with what applies now, and each destination's concurrency; cheap enough to ask once a second. */
  paceState(): Promise<PaceState>;
  /** Running uploads follow within a second. */
  setBandwidthLimit(input: BandwidthLimitInput): Promise<BandwidthLimit | null>;
  /** Automatic concurrency within min..max for a destination; null: back to its fixed concurrency. */
  setConcurrencyBounds(destinationId: number, bounds: { min: number; max: number } | null): Promise<DestinationPace>;
  getSettings(): Promise<AppSettings>;
  saveSettings(settings: AppSettings): Promise<AppSettings>;
}

export const CONTROLS_COMMANDS = ['paceState', 'setBandwidthLimit', 'setConcurrencyBounds', 'getSettings', 'saveSettings'] as const satisfies readonly (keyof ControlsApi)[];
