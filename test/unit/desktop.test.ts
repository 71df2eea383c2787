// The desktop app's plain logic (src-main/hosts/desktop/), which the Electron shell only wires up:
// paths from a launch's argv, the dock/taskbar progress, the tray's tooltip and menu with its
// bandwidth presets, the login item's Linux entry, and which notifications to show per the settings.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../shared/controls.js';
import type { BandwidthLimit, Job, Totals } from '../../shared/types.js';
import { LOGIN_FLAG, linuxAutostartEntry, pathsFromArgv, startedAtLogin } from '../../src-main/hosts/desktop/launch.js';
import { DeliveryNotices } from '../../src-main/hosts/desktop/notices.js';
import { desktopProgress, trayTooltip } from '../../src-main/hosts/desktop/progress.js';
import { presetInput, trayMenu, type TrayItem } from '../../src-main/hosts/desktop/tray-menu.js';

const existing = new Set(['/Volumes/CARD/A001.mov', '/home/ana/Renders', '/home/ana/Renders/final v2.mov']);
const ctx = (over: Partial<Parameters<typeof pathsFromArgv>[1]> = {}) => ({ cwd: '/home/ana/Renders', defaultApp: false, exists: (p: string) => existing.has(p), ...over });

test('a launch\'s argv gives the files and folders to send: resolved, existing, without flags or the executable', () => {
  // A second launch of the packaged app, as a drop on the taskbar icon or "Open with" makes it (Chromium adds flags).
  assert.deepEqual(
    pathsFromArgv(['/opt/Hoist/hoist', '--allow-file-access-from-files', '/Volumes/CARD/A001.mov', 'final v2.mov', '--original-process-start-time=1', 'missing.mov', '/Volumes/CARD/A001.mov'], ctx()),
    ['/Volumes/CARD/A001.mov', '/home/ana/Renders/final v2.mov'],
  );
  // From a checkout (`electron .`): argv[1] is the app's folder, never a file to send.
  assert.deepEqual(pathsFromArgv(['/usr/bin/electron', '.', '/home/ana/Renders'], ctx({ defaultApp: true, cwd: '/home/ana' })), ['/home/ana/Renders']);
  assert.deepEqual(pathsFromArgv(['/usr/bin/electron', '/home/ana/Renders'], ctx({ defaultApp: true })), [], 'the app folder itself is not sent');
  // After "--" a name that starts with a dash is a file; macOS's -psn_ argument is not.
  existing.add(path.resolve('/home/ana/Renders', '-odd.mov'));
  assert.deepEqual(pathsFromArgv(['hoist', '-psn_0_12345', '--', '-odd.mov'], ctx()), ['/home/ana/Renders/-odd.mov']);
  assert.deepEqual(pathsFromArgv(['hoist'], ctx()), []);
});

test('started at login: the flag on Windows and Linux, or macOS saying so; the Linux autostart entry carries the flag', () => {
  assert.equal(startedAtLogin(['hoist', LOGIN_FLAG]), true);
  assert.equal(startedAtLogin(['hoist']), false);
  assert.equal(startedAtLogin(['hoist'], true), true);
  const entry = linuxAutostartEntry(['/opt/My Apps/hoist']);
  assert.match(entry, /^\[Desktop Entry\]\n/);
  assert.match(entry, /\nExec="\/opt\/My Apps\/hoist" --login\n/);
  assert.match(entry, /\nType=Application\n/);
});

const totals = (byState: Record<string, number>, bytesDone = 0, bytesTotal = 0, rate = 0): Totals => ({ byState, bytesDone, bytesTotal, rate });

test('the dock/taskbar bar: the share sent while anything moves, paused or error modes, removed when nothing is left', () => {
  assert.deepEqual(desktopProgress(totals({ running: 1, queued: 2 }, 250, 1000)), { fraction: 0.25, mode: 'normal' });
  assert.deepEqual(desktopProgress(totals({ paused: 2 }, 500, 1000)), { fraction: 0.5, mode: 'paused' });
  assert.deepEqual(desktopProgress(totals({ running: 1, failed: 1 }, 100, 1000)), { fraction: 0.1, mode: 'error' });
  assert.deepEqual(desktopProgress(totals({ done: 40 })), { fraction: -1, mode: 'none' });
  assert.deepEqual(desktopProgress(totals({ failed: 3 })), { fraction: -1, mode: 'none' }, 'failures alone are told by the notification and the tray, not a bar');
  assert.equal(trayTooltip(totals({ running: 2, queued: 3 }, 430, 1000, 12_340_000), 'Limited to 50 MB/s (timetable: until 20:00)'), 'Hoist — Uploading 2 of 5 · 43% · 12.3 MB/s\nLimited to 50 MB/s (timetable: until 20:00)');
  assert.equal(trayTooltip(totals({}), null), 'Hoist — No uploads waiting');
});

const limit = (bytesPerSecond: number | null, schedule: BandwidthLimit['schedule'] = []): BandwidthLimit => ({ destinationId: null, bytesPerSecond, schedule, effectiveBytesPerSecond: bytesPerSecond });
const presets = (items: TrayItem[]) => (items.find((i) => i.kind === 'submenu') as Extract<TrayItem, { kind: 'submenu' }>).items;

test('the tray menu: status, pause and resume all (enabled only when they would act), the limit presets with the current one ticked', () => {
  const menu = trayMenu({ status: 'Uploading 1 of 1 · 5% · 50.0 MB/s', paceLine: 'Limited to 50 MB/s', globalLimit: limit(50e6), pausable: 1, resumable: 0 });
  assert.deepEqual(menu.filter((i) => i.kind === 'label').map((i) => (i as { label: string }).label), ['Uploading 1 of 1 · 5% · 50.0 MB/s', 'Limited to 50 MB/s']);
  const actions = menu.filter((i) => i.kind === 'action') as Extract<TrayItem, { kind: 'action' }>[];
  assert.deepEqual(actions.map((a) => [a.action, a.enabled]), [['show', true], ['pause-all', true], ['resume-all', false], ['quit', true]]);
  assert.deepEqual(presets(menu).map((p) => [(p as { label: string }).label, (p as { checked?: boolean }).checked]), [['Unlimited', false], ['100 MB/s', false], ['50 MB/s', true], ['20 MB/s', false], ['10 MB/s', false]]);
  // No limit: Unlimited is ticked. A rate set elsewhere shows ticked beside the presets; a timetable is said to stay.
  assert.equal((presets(trayMenu({ status: '', paceLine: null, globalLimit: undefined, pausable: 0, resumable: 0 }))[0] as { checked: boolean }).checked, true);
  const custom = presets(trayMenu({ status: '', paceLine: null, globalLimit: limit(37.5e6, [{ from: '20:00', to: '06:00', bytesPerSecond: null }]), pausable: 0, resumable: 2 }));
  assert.deepEqual(custom.slice(5).map((p) => (p as { label?: string }).label ?? p.kind), ['37.5 MB/s (set in Hoist)', 'separator', 'The timetable stays in force']);
  // Choosing a preset changes the rate and keeps the windows.
  assert.deepEqual(presetInput(limit(37.5e6, [{ from: '20:00', to: '06:00', bytesPerSecond: null }]), 10e6), { destinationId: null, bytesPerSecond: 10e6, schedule: [{ from: '20:00', to: '06:00', bytesPerSecond: null }] });
  assert.deepEqual(presetInput(undefined, null), { destinationId: null, bytesPerSecond: null, schedule: [] });
});

const job = (id: number, state: Job['state'], finishedAt: string | null, over: Partial<Job> = {}): Job => ({ id, state, finishedAt, sourcePath: `/Volumes/CARD/A00${id}.mov`, bucket: 'dailies', key: `day01/A00${id}.mov`, error: null, ...over }) as Job;

test('notifications: one "delivered" once the queue is quiet, failures as they come, each kind only when the settings want it', () => {
  const start = Date.parse('2026-01-05T10:00:00Z');
  const at = (s: number) => new Date(start + s * 1000).toISOString();
  const n = new DeliveryNotices(start);
  assert.equal(n.jobChanged(job(1, 'done', at(-5))), false, 'finished before the app started');
  assert.equal(n.jobChanged(job(2, 'running', null)), false);
  assert.equal(n.jobChanged(job(2, 'done', at(10))), true);
  assert.equal(n.jobChanged(job(2, 'done', at(10))), false, 'the same end is told once');
  assert.deepEqual(n.take(totals({ running: 1 }), DEFAULT_SETTINGS), [], 'more of the batch still moves: not yet');
  n.jobChanged(job(3, 'done', at(20)));
  n.jobChanged(job(4, 'failed', at(21), { error: { code: 's3.access-denied', message: 'Permission denied for UploadPart.' } }));
  const told = n.take(totals({ done: 3, failed: 1 }), DEFAULT_SETTINGS);
  assert.deepEqual(told, [
    { kind: 'failed', title: 'Upload failed', body: 'A004.mov: Permission denied for UploadPart.' },
    { kind: 'delivered', title: '2 files delivered to s3://dailies', body: 'A002.mov, A003.mov' },
  ]);
  assert.deepEqual(n.take(totals({ done: 3 }), DEFAULT_SETTINGS), [], 'told once');
  // Turned off: nothing is shown, and nothing piles up to be shown later.
  const quiet = { notifications: { batchDelivered: false, jobFailed: false } };
  n.jobChanged(job(5, 'done', at(30)));
  n.jobChanged(job(6, 'failed', at(31)));
  assert.deepEqual(n.take(totals({}), quiet), []);
  assert.deepEqual(n.take(totals({}), DEFAULT_SETTINGS), []);
  // One file: its name and where it went.
  n.jobChanged(job(7, 'done', at(40)));
  assert.deepEqual(n.take(totals({}), { notifications: { batchDelivered: true, jobFailed: false } }), [{ kind: 'delivered', title: 'Delivered', body: 'A007.mov is in s3://dailies/day01/A007.mov' }]);
});
