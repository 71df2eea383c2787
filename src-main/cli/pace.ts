// `hoist limit` and `hoist tune`: bandwidth limits (global or per destination, with a weekly timetable)
// and automatic concurrency bounds, from the command line (issue 6). Both are kept in the database, so
// a change made here reaches a `hoist run`, `hoist watch` or the app working the queue within a second.
import type { Command } from 'commander';
import { HoistError } from '../../shared/errors.js';
import type { BandwidthLimit } from '../../shared/types.js';
import { formatRate, parseRate, parseSchedule, windowText } from '../engine/pacing/bandwidth.js';
import type { Engine } from '../engine/engine.js';
import { concurrencyArg } from './args.js';
import { findDestination } from './destination-of.js';
import { printJson } from './output.js';
import { withHoist, type Globals } from './with-hoist.js';

function limitLine(l: BandwidthLimit, name: string): string {
  const schedule = l.schedule.length ? `; schedule ${l.schedule.map(windowText).join(', ')}` : '';
  return `${name.padEnd(28)} ${formatRate(l.bytesPerSecond)}${schedule}; now ${formatRate(l.effectiveBytesPerSecond)}`;
}

export function registerPaceCommands(program: Command, globals: Globals): void {
  program
    .command('limit')
    .description('show or set the bandwidth limit, for all uploads or one destination; running uploads follow within a second')
    .argument('[rate]', 'e.g. 50MB/s, 40MiB/s, 400Mbit/s, or unlimited (no rate: show the limits)')
    .option('--destination <id|name|bucket>', 'limit one destination (default: the global limit, shared by all)')
    .option('--schedule <windows>', 'windows with their own rate, local time, every day or on some days, e.g. "20:00-06:00=unlimited,Mon-Fri 09:00-18:00=50MB/s,Sat,Sun=unlimited" ("" removes them)')
    .option('--json', 'print the limits as JSON')
    .action(async (rate: string | undefined, o: { destination?: string; schedule?: string; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        if (rate !== undefined || o.schedule !== undefined) {
          const destinationId = o.destination ? findDestination(engine, o.destination).id : null;
          const current = engine.pace.bandwidthLimits().find((l) => l.destinationId === destinationId);
          engine.pace.setBandwidthLimit({
            destinationId,
            bytesPerSecond: rate !== undefined ? parseRate(rate) : (current?.bytesPerSecond ?? null),
            schedule: o.schedule !== undefined ? parseSchedule(o.schedule) : (current?.schedule ?? []),
          });
        } else if (o.destination) {
          findDestination(engine, o.destination);
        }
        const names = new Map(engine.store.listDestinations().map((d) => [d.id, d.name]));
        const limits = engine.pace.bandwidthLimits();
        if (o.json) {
          printJson({ limits: limits.map((l) => ({ ...l, destination: l.destinationId === null ? null : names.get(l.destinationId) ?? null })) });
          return;
        }
        if (!limits.some((l) => l.destinationId === null)) process.stdout.write(`${'all uploads'.padEnd(28)} unlimited\n`);
        for (const l of limits) process.stdout.write(limitLine(l, l.destinationId === null ? 'all uploads' : (names.get(l.destinationId) ?? `destination ${l.destinationId}`)) + '\n');
      });
    });

  program
    .command('tune')
    .description('automatic concurrency for a destination: parts in flight rise while throughput does, fall on SlowDown or errors, within MIN..MAX')
    .argument('[destination]', 'id, name or bucket (no destination: show every destination\'s setting)')
    .option('--min <n>', 'fewest parts in flight', concurrencyArg)
    .option('--max <n>', 'most parts in flight', concurrencyArg)
    .option('--off', 'back to the fixed concurrency (--concurrency of hoist upload)')
    .option('--json', 'print the settings as JSON')
    .action(async (which: string | undefined, o: { min?: number; max?: number; off?: boolean; json?: boolean }) => {
      await withHoist(globals(), async ({ engine }) => {
        if (which !== undefined) {
          const dest = findDestination(engine, which);
          if (o.off) engine.pace.setConcurrencyBounds(dest.id, null);
          else if (o.min !== undefined || o.max !== undefined) {
            const min = o.min ?? 1;
            const max = o.max ?? Math.max(min, dest.concurrency);
            engine.pace.setConcurrencyBounds(dest.id, { min, max });
          }
        } else if (o.off || o.min !== undefined || o.max !== undefined) {
          throw new HoistError('config.invalid', { message: 'Name the destination to tune: hoist tune DESTINATION --min 2 --max 16.' });
        }
        const bounds = new Map(engine.pace.concurrencyBounds().map((b) => [b.destinationId, b]));
        const rows = engine.store.listDestinations().map((d) => ({ destinationId: d.id, destination: d.name, concurrency: d.concurrency, automatic: bounds.get(d.id) ?? null }));
        if (o.json) {
          printJson({ destinations: rows });
          return;
        }
        if (rows.length === 0) process.stdout.write('no destinations yet: an upload to a bucket makes one\n');
        for (const r of rows) {
          const how = r.automatic ? `automatic, ${r.automatic.min}..${r.automatic.max} parts in flight` : `fixed, ${r.concurrency} parts in flight`;
          process.stdout.write(`${String(r.destinationId).padStart(4)}  ${r.destination.padEnd(28)} ${how}\n`);
        }
      });
    });
}

/** One line per tuned destination: what automatic concurrency settled on during this run. */
export function tuningSummary(engine: Engine): string[] {
  return engine.pace.concurrencyBounds().flatMap((b) => {
    const { limit, decisions } = engine.pace.concurrencyOf(b.destinationId);
    if (limit === null) return [];
    const name = engine.store.getDestination(b.destinationId)?.name ?? String(b.destinationId);
    const trail = decisions.filter((d) => d.reason !== 'bounds').map((d) => `${d.to} (${d.reason})`);
    return [`hoist: concurrency for ${name} settled at ${limit} (automatic, ${b.min}..${b.max})${trail.length ? `: ${trail.slice(-8).join(' -> ')}` : ''}`];
  });
}
