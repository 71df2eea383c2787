// The comparison's tables: medians per case and client, ratios to Hoist, the summary in the shape of
// issue 12's table, and "Issue 12 targets (this run)" with each Done-when target, its figure, met or not.
import { formatBytes } from '../src-main/engine/upload/part-plan.js';
import type { CaseId } from './cases.js';
import type { ProcessFigures } from './measured-process.js';
import { GiB, MiB } from './process-stats.js';
import { fixed, median, table } from './report.js';
import type { VariantResult } from './run-variant.js';

export interface RunRecord {
  target: 'sink' | 'radosgw';
  caseId: CaseId;
  caseLabel: string;
  bytes: number;
  count: number;
  peer: string;
  round: number;
  figures: ProcessFigures;
  /** Node peers: what they measured inside (from the first request, without process start). */
  inProcess: VariantResult | null;
  serverCpuSeconds: number | null;
}

export interface Summary {
  target: 'sink' | 'radosgw';
  caseId: CaseId;
  caseLabel: string;
  peer: string;
  runs: number;
  bytes: number;
  count: number;
  mbps: number;
  filesPerSecond: number;
  cpuSeconds: number | null;
  cpuPerGiB: number | null;
  peakRssMiB: number | null;
  deviceReadPerByte: number | null;
  serverCpuPerGiB: number | null;
  inProcessMbps: number | null;
  inProcessCpuPerGiB: number | null;
}

const medianOrNull = (values: Array<number | null>): number | null => (values.some((v) => v === null) || values.length === 0 ? null : median(values as number[]));

export function summarize(records: readonly RunRecord[]): Summary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const k = `${r.target}|${r.caseId}|${r.peer}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((runs) => {
    const first = runs[0]!;
    const gib = first.bytes / GiB;
    const wall = median(runs.map((r) => r.figures.wallSeconds));
    const cpu = medianOrNull(runs.map((r) => r.figures.cpuSeconds));
    const rss = runs.some((r) => r.figures.peakRssBytes === null) ? null : Math.max(...runs.map((r) => r.figures.peakRssBytes! / MiB));
    const inside = runs.every((r) => r.inProcess) ? runs.map((r) => r.inProcess!) : null;
    return {
      target: first.target,
      caseId: first.caseId,
      caseLabel: first.caseLabel,
      peer: first.peer,
      runs: runs.length,
      bytes: first.bytes,
      count: first.count,
      mbps: median(runs.map((r) => r.bytes / 1e6 / r.figures.wallSeconds)),
      filesPerSecond: first.count / wall,
      cpuSeconds: cpu,
      cpuPerGiB: cpu === null ? null : cpu / gib,
      peakRssMiB: rss,
      deviceReadPerByte: medianOrNull(runs.map((r) => (r.figures.deviceReadBytes === null ? null : r.figures.deviceReadBytes / r.bytes))),
      serverCpuPerGiB: medianOrNull(runs.map((r) => (r.serverCpuSeconds === null ? null : r.serverCpuSeconds / gib))),
      inProcessMbps: inside ? median(inside.map((v) => first.bytes / 1e6 / v.wallSeconds)) : null,
      inProcessCpuPerGiB: inside ? median(inside.map((v) => v.cpuSeconds / gib)) : null,
    };
  });
}

export function runsTable(records: readonly RunRecord[]): string {
  const rows = records.map((r) => [
    `${r.round}: ${r.peer}`,
    fixed(r.figures.wallSeconds, 2),
    fixed(r.bytes / 1e6 / r.figures.wallSeconds, 0),
    r.count > 1 ? fixed(r.count / r.figures.wallSeconds, 0) : '',
    fixed(r.figures.cpuSeconds, 2),
    fixed(r.figures.peakRssBytes === null ? null : r.figures.peakRssBytes / MiB, 0),
    fixed(r.figures.deviceReadBytes === null ? null : r.figures.deviceReadBytes / r.bytes, 2),
    fixed(r.serverCpuSeconds === null ? null : r.serverCpuSeconds / (r.bytes / GiB), 2),
    r.inProcess ? String(r.inProcess.uploadPartRequests) : '',
  ]);
  return table(['round: client', 'wall s', 'MB/s', 'files/s', 'CPU s', 'peak RSS MiB', 'disk read/byte', 'server CPU s/GiB', 'PUT reqs'], rows);
}

export function caseTable(summaries: readonly Summary[]): string {
  const many = summaries.some((s) => s.count > 1);
  const rows = summaries.map((s) => [
    s.peer,
    fixed(s.mbps, 0),
    ...(many ? [fixed(s.filesPerSecond, 0)] : []),
    fixed(s.cpuSeconds, 2),
    fixed(s.cpuPerGiB, 2),
    fixed(s.peakRssMiB, 0),
    fixed(s.deviceReadPerByte, 2),
    fixed(s.serverCpuPerGiB, 2),
    s.inProcessMbps === null ? '' : `${fixed(s.inProcessMbps, 0)} / ${fixed(s.inProcessCpuPerGiB, 2)}`,
  ]);
  const n = summaries[0]?.runs ?? 0;
  return table(
    ['client', `MB/s (median of ${n})`, ...(many ? ['files/s'] : []), 'CPU s', 'CPU s/GiB', 'peak RSS MiB', 'disk read/byte', 'server CPU s/GiB', 'in-process MB/s / CPU s/GiB'],
    rows,
  );
}

export function ratioTable(summaries: readonly Summary[], hoist: string): string | null {
  const h = summaries.find((s) => s.peer === hoist);
  const others = summaries.filter((s) => s.peer !== hoist);
  if (!h || others.length === 0) return null;
  const x = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? 'n/a' : `${fixed(a / b, 2)}x`);
  const rows = others.map((o) => [`${hoist} / ${o.peer}`, x(h.mbps, o.mbps), x(h.cpuSeconds, o.cpuSeconds), x(h.peakRssMiB, o.peakRssMiB)]);
  return table(['ratio', 'throughput', 'CPU', 'peak RSS'], rows) + '\n  (throughput above 1x: Hoist faster; CPU and RSS below 1x: Hoist cheaper)';
}

/** One row per client, the three sink cases side by side, as issue 12's table. */
export function mainTable(summaries: readonly Summary[], peers: readonly string[]): string {
  const at = (peer: string, id: CaseId) => summaries.find((s) => s.target === 'sink' && s.peer === peer && s.caseId === id);
  const label = (id: CaseId) => summaries.find((s) => s.target === 'sink' && s.caseId === id)?.caseLabel ?? id;
  const rows = peers.map((p) => {
    const clip = at(p, 'clip');
    const files = at(p, 'files');
    const frames = at(p, 'frames');
    return [
      p,
      fixed(clip?.mbps ?? null, 0),
      fixed(clip?.cpuPerGiB ?? null, 2),
      fixed(clip?.peakRssMiB ?? null, 0),
      fixed(files?.filesPerSecond ?? null, 0),
      fixed(files?.cpuSeconds ?? null, 1),
      fixed(frames?.mbps ?? null, 0),
      fixed(frames?.cpuSeconds ?? null, 1),
    ];
  });
  return table(['client', `${label('clip')}: MB/s`, 'CPU s/GiB', 'peak RSS MiB', `${label('files')}: files/s`, 'CPU s', `${label('frames')}: MB/s`, 'CPU s'], rows);
}

export interface TargetInputs {
  summaries: readonly Summary[];
  hoist: string;
  /** Hoist's peak RSS on the big sparse file, and its size (null: not run). */
  bigRss: { bytes: number; peakRssMiB: number | null } | null;
  /** Today's radosgw figure to stay at or above (docs/performance.md, npm run bench before issue 12). */
  radosgwBaselineMBps: number;
  /** The machine's MD5 wall: one core's MD5 rate times the cores, for the moonshot. */
  md5MBpsOneCore: number;
}

const RSS_TARGET_MB = 250;

/** Issue 12's Done-when targets that a bench run can show, each with this run's figure. */
export function targetLines(t: TargetInputs): string[] {
  const v = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'met' : 'NOT met');
  const sink = (peer: string, id: CaseId) => t.summaries.find((s) => s.target === 'sink' && s.peer === peer && s.caseId === id);
  const lines: string[] = [];
  const clip = sink(t.hoist, 'clip');
  const awsClip = sink('aws-cli (aws s3 cp)', 'clip');
  if (clip) {
    lines.push(awsClip ? `clip: throughput >= 1.2x aws-cli: ${fixed(clip.mbps / awsClip.mbps, 2)}x (${fixed(clip.mbps, 0)} vs ${fixed(awsClip.mbps, 0)} MB/s), ${v(clip.mbps >= 1.2 * awsClip.mbps)}` : 'clip: throughput >= 1.2x aws-cli: aws-cli not run, not measured');
    lines.push(`clip: <= 1.5 CPU s/GiB: ${fixed(clip.cpuPerGiB, 2)}, ${v(clip.cpuPerGiB === null ? null : clip.cpuPerGiB <= 1.5)}`);
    const mb = clip.peakRssMiB === null ? null : (clip.peakRssMiB * MiB) / 1e6;
    lines.push(`clip: peak RSS < ${RSS_TARGET_MB} MB: ${fixed(mb, 0)} MB, ${v(mb === null ? null : mb < RSS_TARGET_MB)}`);
    lines.push(`clip, moonshot: >= 550 MB/s (80% of the MD5 wall; MD5 on one core in this run: ${fixed(t.md5MBpsOneCore, 0)} MB/s): ${fixed(clip.mbps, 0)} MB/s, ${v(clip.mbps >= 550)}`);
  }
  if (t.bigRss) {
    const mb = t.bigRss.peakRssMiB === null ? null : (t.bigRss.peakRssMiB * MiB) / 1e6;
    lines.push(`peak RSS < ${RSS_TARGET_MB} MB at ${formatBytes(t.bigRss.bytes)}: ${fixed(mb, 0)} MB, ${v(mb === null ? null : mb < RSS_TARGET_MB)}`);
  } else {
    lines.push(`peak RSS < ${RSS_TARGET_MB} MB at 16 GiB: not run (--big-size 16GiB)`);
  }
  const files = sink(t.hoist, 'files');
  const rcloneFiles = sink('rclone', 'files');
  if (files && rcloneFiles) {
    const cpuOk = files.cpuSeconds === null || rcloneFiles.cpuSeconds === null ? null : files.cpuSeconds <= rcloneFiles.cpuSeconds;
    lines.push(`${files.caseLabel}: files/s >= rclone's: ${fixed(files.filesPerSecond, 0)} vs ${fixed(rcloneFiles.filesPerSecond, 0)} (${fixed(files.filesPerSecond / rcloneFiles.filesPerSecond, 2)}x), ${v(files.filesPerSecond >= rcloneFiles.filesPerSecond)}`);
    lines.push(`${files.caseLabel}: CPU <= rclone's: ${fixed(files.cpuSeconds, 1)} vs ${fixed(rcloneFiles.cpuSeconds, 1)} s, ${v(cpuOk)}`);
  } else if (files) {
    lines.push(`${files.caseLabel}: against rclone: rclone not run, not measured`);
  }
  const frames = sink(t.hoist, 'frames');
  const awsFrames = sink('aws-cli (aws s3 cp)', 'frames');
  if (frames && awsFrames) lines.push(`${frames.caseLabel}: throughput >= 1.1x aws-cli: ${fixed(frames.mbps / awsFrames.mbps, 2)}x (${fixed(frames.mbps, 0)} vs ${fixed(awsFrames.mbps, 0)} MB/s), ${v(frames.mbps >= 1.1 * awsFrames.mbps)}`);
  const rgw = t.summaries.find((s) => s.target === 'radosgw' && s.peer === t.hoist);
  if (rgw) {
    const mbps = rgw.inProcessMbps ?? rgw.mbps;
    lines.push(`radosgw (MD5 mode): no slower than before issue 12 (${t.radosgwBaselineMBps} MB/s, 1 GiB, docs/performance.md): ${fixed(mbps, 0)} MB/s from the first request, ${v(mbps >= t.radosgwBaselineMBps)} (noisy: radosgw shares the 2 cores)`);
  }
  return lines;
}
