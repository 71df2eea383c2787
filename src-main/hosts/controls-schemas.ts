// The arguments of the controls' commands (shared/controls.ts: pace and settings), checked where they
// enter a host; schemas.ts adds them to the table of every command. Shapes and ranges here; what
// needs the database (a destination that exists, an empty window) in the engine.
import { z } from 'zod';
import { LOG_LEVELS } from '../../shared/controls.js';
import { MAX_CONCURRENCY } from '../../shared/limits.js';
import { WEEKDAYS } from '../../shared/timetable.js';

const id = z.int().min(1, 'must be a positive whole number');
const MAX_WINDOWS = 50;
/** 1 KiB/s .. 1 TB/s: below, nothing would ever finish; above, no link carries it. */
const rate = z.int('must be a whole number of bytes per second').min(1024, 'must be at least 1024 bytes per second (1 KiB/s), or null for unlimited').max(1e12);
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day, HH:MM');

const bandwidthWindow = z.strictObject({
  from: time,
  to: z.union([time, z.literal('24:00')], 'must be a time of day, HH:MM (24:00: the end of the day)'),
  bytesPerSecond: rate.nullable(),
  days: z.array(z.enum(WEEKDAYS)).min(1, 'must name at least one day').max(7).optional(),
});

const bandwidthLimit = z.strictObject({
  destinationId: id.nullable(),
  bytesPerSecond: rate.nullable(),
  schedule: z.array(bandwidthWindow).max(MAX_WINDOWS, `must be at most ${MAX_WINDOWS} windows`),
});

const concurrency = z.int().min(1).max(MAX_CONCURRENCY);
const bounds = z.strictObject({ min: concurrency, max: concurrency }).refine((b) => b.min <= b.max, 'must have min at most max');

const settings = z.strictObject({
  defaultDestinationId: id.nullable(),
  notifications: z.strictObject({ batchDelivered: z.boolean(), jobFailed: z.boolean() }),
  startAtLogin: z.boolean(),
  logLevel: z.enum(LOG_LEVELS),
});

/** Argument names (for messages) and the schema of each controls command. */
export const CONTROLS_SCHEMAS = {
  paceState: { names: [], schema: z.tuple([]) },
  setBandwidthLimit: { names: ['input'], schema: z.tuple([bandwidthLimit]) },
  setConcurrencyBounds: { names: ['destinationId', 'bounds'], schema: z.tuple([id, bounds.nullable()]) },
  getSettings: { names: [], schema: z.tuple([]) },
  saveSettings: { names: ['settings'], schema: z.tuple([settings]) },
} as const;
