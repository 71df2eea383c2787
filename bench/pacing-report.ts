// The bandwidth-limit run's report: the rate achieved over each span, against the limit.
import { formatRate } from '../src-main/engine/pacing/bandwidth.js';
import { fixed, table } from './report.js';
import type { PacingRequest } from './run-variant.js';

export /** Rate over each window of the samples and over the halves either side of the change. */
function pacingLines(samples: { atSeconds: number; bytes: number }[], p: PacingRequest): string[] {
  const rateBetween = (from: number, to: number) => {
    const a = samples.reduce((best, s) => (Math.abs(s.atSeconds - from) < Math.abs(best.atSeconds - from) ? s : best));
    const b = samples.reduce((best, s) => (Math.abs(s.atSeconds - to) < Math.abs(best.atSeconds - to) ? s : best));
    return b.atSeconds > a.atSeconds ? (b.bytes - a.bytes) / (b.atSeconds - a.atSeconds) : 0;
  };
  const half = Math.floor(p.seconds / 2);
  const phases: Array<{ label: string; from: number; to: number; limit: number }> =
    p.thenBytesPerSecond === null
      ? [{ label: `0-${p.seconds} s`, from: 0, to: p.seconds, limit: p.bytesPerSecond }]
      : [
          // A second after the change for the new rate to take hold (sleepers re-reserve within 200 ms).
          { label: `0-${half} s`, from: 0, to: half, limit: p.bytesPerSecond },
          { label: `${half + 1}-${p.seconds} s`, from: half + 1, to: p.seconds, limit: p.thenBytesPerSecond },
        ];
  const rows = phases.map((ph) => {
    const rate = rateBetween(ph.from, ph.to);
    const windows: number[] = [];
    for (let t = ph.from; t + 10 <= ph.to; t += 10) windows.push(rateBetween(t, t + 10));
    const dev = (rate - ph.limit) / ph.limit;
    return [
      ph.label,
      formatRate(ph.limit),
      formatRate(rate),
      `${dev >= 0 ? '+' : ''}${fixed(100 * dev, 1)}%${Math.abs(dev) <= 0.05 ? '' : ' (outside 5%)'}`,
      windows.length ? `${formatRate(Math.min(...windows))} .. ${formatRate(Math.max(...windows))}` : 'n/a',
    ];
  });
  return [
    `Bandwidth limit: Hoist alone, global limit ${formatRate(p.bytesPerSecond)}${p.thenBytesPerSecond !== null ? `, changed to ${formatRate(p.thenBytesPerSecond)} at ${half} s while the upload ran` : ''}; bytes on the wire, sampled each second`,
    table(['span', 'limit', 'achieved', 'vs limit', '10 s windows min .. max'], rows),
  ];
}

