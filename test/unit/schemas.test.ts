// What a renderer sends is checked before it reaches the engine: every command's arguments, with
// a message naming what is wrong, and nothing but HoistError('config.invalid') for any input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOIST_COMMANDS, type HoistCommand } from '../../shared/contract.js';
import { HoistError } from '../../shared/errors.js';
import { MiB } from '../../shared/limits.js';
import { validateCommand } from '../../src-main/hosts/schemas.js';

const destination = {
  name: 'Footage',
  endpoint: 'https://s3.example.com',
  region: 'us-east-1',
  bucket: 'footage',
  prefix: 'shoot/',
  pathStyle: true,
  profile: null,
  storageClass: 'STANDARD_IA',
  sse: null,
  sseKmsKeyId: null,
  partSize: 64 * MiB,
  concurrency: 4,
  singlePutThreshold: 100 * MiB,
  maxObjectSize: 5 * 2 ** 40,
  maxParts: 10_000,
  checksumAlgorithm: 'crc32c',
};

/** One valid call of every command. */
const VALID: Record<HoistCommand, unknown[]> = {
  listJobs: [{ states: ['queued', 'paused'], offset: 0, limit: 50, sort: 'progress', descending: true }],
  getJob: [7],
  listFolders: [],
  listDestinations: [],
  totals: [],
  listRemoteUploads: [1, 'shoot/'],
  addFolder: [{ path: '/media/card', destinationId: 1, destinationIds: [1, 2], after: 'move', moveTo: '/media/delivered', priority: 'high', include: ['**/*.mov'], stableMs: 5000 }],
  removeFolder: [3, 'cancel'],
  setFolderWebhook: [3, 'https://hooks.example.com/hoist?channel=dailies'],
  setFolderPriority: [3, 'low'],
  saveDestination: [destination, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret/with+chars' }],
  removeDestination: [2],
  testConnection: [1],
  pauseJob: [1],
  resumeJob: [1],
  cancelJob: [1],
  retryJob: [1],
  setPriority: [1, 'high'],
  pauseAll: [],
  resumeAll: [],
  actOnJobs: [{ ids: [1, 2, 3] }, 'pause'],
  abortRemoteUpload: [1, 'shoot/A001.mov', 'upload-id-1'],
  abortOrphans: [1, 7],
  installLifecycleRule: [1, 7],
  runnerState: [],
  listDirectory: ['/home/ana/Renders'],
  previewSend: [{ paths: ['/media/card/CLIPS', '/home/ana/render.mov'], destinationId: 1, prefix: 'day01/', priority: 'high', hashes: ['xxh64', 'md5'], mhl: true }],
  sendFiles: [{ paths: ['/media/card/CLIPS'], destinationId: 1, prefix: '', priority: 'normal', hashes: [], mhl: false, ifExists: 'keep-both' }],
  sendDefaults: [],
  setupInfo: [],
  testDraftDestination: [{ ...destination, ifExists: 'never-overwrite' }, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wrong' }],
  useLocalTestServer: [],
  listBatches: [],
  retryBatch: [4],
  listWebhookDeliveries: [true],
  retryWebhookDeliveries: [['8d0d2f5e-4d0b-4c55-9a55-0f6f1f3c2a10']],
  lifecycleRule: [1],
  supportInfo: [],
  paceState: [],
  setBandwidthLimit: [{ destinationId: null, bytesPerSecond: 50_000_000, schedule: [{ from: '20:00', to: '06:00', bytesPerSecond: null }, { from: '09:00', to: '18:00', bytesPerSecond: 20_000_000, days: ['mon', 'tue', 'wed', 'thu', 'fri'] }] }],
  setConcurrencyBounds: [2, { min: 2, max: 16 }],
  getSettings: [],
  saveSettings: [{ defaultDestinationId: 1, notifications: { batchDelivered: true, jobFailed: false }, startAtLogin: true, logLevel: 'debug' }],
};

function refusal(name: unknown, args: unknown): string {
  try {
    validateCommand(name, args);
  } catch (err) {
    assert.ok(err instanceof HoistError, `threw ${String(err)}`);
    assert.equal(err.code, 'config.invalid');
    return err.message;
  }
  assert.fail(`${String(name)} ${JSON.stringify(args)} was accepted`);
}

test('one valid call of every command passes, with its arguments intact', () => {
  assert.deepEqual(Object.keys(VALID).sort(), [...HOIST_COMMANDS].sort(), 'the table covers every command');
  for (const name of HOIST_COMMANDS) {
    const command = validateCommand(name, VALID[name]);
    assert.equal(command.name, name);
    assert.deepEqual(command.args, VALID[name], name);
  }
});

test('optional trailing arguments may be left out or sent as null (JSON turns undefined into null)', () => {
  assert.deepEqual(validateCommand('listRemoteUploads', [1, null]).args, [1, undefined]);
  assert.deepEqual(validateCommand('listRemoteUploads', [1]).args, [1, undefined]);
  assert.deepEqual(validateCommand('saveDestination', [destination, null]).args, [destination, undefined]);
  assert.deepEqual(validateCommand('saveDestination', [{ ...destination, integrity: 'crc64nvme' }]).args[0], { ...destination, integrity: 'crc64nvme' });
  assert.deepEqual(validateCommand('listJobs', [null]).args, [{}]);
  assert.deepEqual(validateCommand('pauseAll', undefined).args, []);
  assert.deepEqual(validateCommand('setFolderWebhook', [4, null]).args, [4, null], 'null removes the webhook');
});

test('each refusal names the command, the argument and what is wrong', () => {
  const cases: Array<[unknown, unknown, RegExp]> = [
    ['deleteEverything', [], /^Unknown command "deleteEverything"\.$/],
    ['constructor', [], /Unknown command "constructor"/],
    ['__proto__', [], /Unknown command "__proto__"/],
    [42, [], /Unknown command number/],
    ['getJob', { id: 1 }, /getJob: the arguments must be a list/],
    ['getJob', ['7'], /^getJob: id expected number, received string\.$/],
    ['getJob', [0], /getJob: id must be a positive whole number/],
    ['getJob', [1.5], /^getJob: id must be a whole number\.$/],
    ['getJob', [1, 2], /getJob takes 1 argument\(s\): id/],
    ['pauseAll', [1], /pauseAll takes no arguments/],
    ['saveDestination', [{ ...destination, partSize: 1024 }], /saveDestination: input\.partSize must be at least 5 MiB/],
    ['saveDestination', [{ ...destination, bucket: 'a' }], /input\.bucket must be a bucket name/],
    ['saveDestination', [{ ...destination, endpoint: 'file:///etc/passwd' }], /input\.endpoint must be an http:\/\/ or https:\/\/ URL/],
    ['saveDestination', [{ ...destination, sse: 'rot13' }], /input\.sse/],
    ['saveDestination', [{ ...destination, integrity: 'crc16' }], /input\.integrity/],
    ['saveDestination', [{ ...destination, checksumProbe: { verifies: true } }], /input has unknown field\(s\) "checksumProbe"/],
    ['saveDestination', [{ ...destination, isAdmin: true }], /input has unknown field\(s\) "isAdmin"/],
    ['saveDestination', [destination, { accessKeyId: 'AK EXAMPLE', secretAccessKey: 's' }], /credentials\.accessKeyId must be an access key id/],
    ['saveDestination', [{ ...destination, name: undefined }], /^saveDestination: input\.name is missing\.$/],
    ['saveDestination', [{ ...destination, endpoint: undefined }], /^saveDestination: input\.endpoint is missing\.$/],
    ['listJobs', [{ limit: 501 }], /^listJobs: query\.limit must be at most 500\.$/],
    // PostgreSQL refuses NUL in TEXT: named here, not an internal error from the store (host-fuzz found it).
    ['saveDestination', [{ ...destination, name: 'Dailies\0' }], /^saveDestination: input\.name must not contain a NUL character\.$/],
    ['listJobs', [{ search: 'A001\0' }], /^listJobs: query\.search must not contain a NUL character\.$/],
    ['listJobs', [{ states: ['exploded'] }], /query\.states\.0/],
    ['listJobs', [{ sort: 'key; DROP TABLE jobs' }], /query\.sort/],
    ['listJobs', [{ search: 'x'.repeat(201) }], /^listJobs: query\.search must be at most 200 characters\.$/],
    ['actOnJobs', [{ ids: [] }, 'pause'], /^actOnJobs: target\.ids must name at least one job\.$/],
    ['actOnJobs', [{ ids: Array.from({ length: 10_001 }, (_, i) => i + 1) }, 'pause'], /^actOnJobs: target\.ids must be at most 10000 jobs \(a filter means more\)\.$/],
    ['actOnJobs', [{ ids: [1, 0] }, 'pause'], /^actOnJobs: target\.ids\.1 must be a positive whole number\.$/],
    ['actOnJobs', [{ ids: [1], filter: {} }, 'pause'], /^actOnJobs: target must name either ids or a filter\.$/],
    ['actOnJobs', [{}, 'pause'], /^actOnJobs: target must name either ids or a filter\.$/],
    ['actOnJobs', [{ filter: { states: ['exploded'] } }, 'pause'], /^actOnJobs: target\.filter\.states\.0 must be one of/],
    ['actOnJobs', [{ filter: { sql: '1=1' } }, 'pause'], /target\.filter has unknown field\(s\) "sql"/],
    ['actOnJobs', [{ ids: [1] }, 'delete'], /^actOnJobs: action must be "pause", "resume", "retry", "cancel", "clear" or \{ priority/],
    ['actOnJobs', [{ ids: [1] }, { priority: 'urgent' }], /^actOnJobs: action/],
    ['actOnJobs', [{ ids: [1] }], /^actOnJobs takes 2 argument\(s\): target, action\.$/],
    ['setPriority', [1, 'urgent'], /^setPriority: priority must be one of "high", "normal", "low"\.$/],
    ['removeFolder', [1, 'delete'], /removeFolder: unfinished/],
    ['listDirectory', ['Renders'], /^listDirectory: path must be an absolute path\.$/],
    ['listDirectory', ['/home/ana/../../etc'], /^listDirectory: path must not contain \. or \.\. segments\.$/],
    ['sendFiles', [{ ...VALID.sendFiles[0] as object, paths: [] }], /^sendFiles: input\.paths must name at least one file or folder\.$/],
    ['sendFiles', [{ ...VALID.sendFiles[0] as object, paths: ['/home/ana/./x.mov'] }], /^sendFiles: input\.paths\.0 must not contain \. or \.\. segments\.$/],
    ['sendFiles', [{ ...VALID.sendFiles[0] as object, hashes: ['crc7'] }], /sendFiles: input\.hashes\.0 must be one of/],
    ['previewSend', [{ ...VALID.previewSend[0] as object, overwrite: true }], /previewSend: input has unknown field\(s\) "overwrite"/],
    ['setFolderWebhook', [1, 'ftp://hooks.example.com/x'], /^setFolderWebhook: url must be an http:\/\/ or https:\/\/ URL\.$/],
    ['setFolderWebhook', [1, 'hooks.example.com'], /setFolderWebhook: url must be an http:\/\/ or https:\/\/ URL/],
    ['setFolderWebhook', [1], /^setFolderWebhook takes 2 argument\(s\): id, url\.$/],
    ['setFolderWebhook', [0, null], /setFolderWebhook: id must be a positive whole number/],
    ['setFolderPriority', [1, 'urgent'], /^setFolderPriority: priority must be one of "high", "normal", "low"\.$/],
    ['setFolderPriority', [1, null], /^setFolderPriority: priority must be one of/],
    ['addFolder', [{ path: '/media/card', destinationId: 1, webhookUrl: 'javascript:alert(1)' }], /^addFolder: input\.webhookUrl must be an http:\/\/ or https:\/\/ URL\.$/],
    ['addFolder', [{ path: '/media/card', destinationId: 1, hashAlgorithms: ['crc32'] }], /input\.hashAlgorithms\.0 must be one of "xxh64"/],
    ['addFolder', [{ path: 'relative/dir', destinationId: 1 }], /addFolder: input\.path must be an absolute path/],
    ['addFolder', [{ path: '/media\0/x', destinationId: 1 }], /input\.path must be an absolute path/],
    ['addFolder', [{ path: '/media/card', destinationId: 1, after: 'shred' }], /^addFolder: input\.after must be one of "keep", "delete", "move"\.$/],
    ['addFolder', [{ path: '/media/card', destinationId: 1, after: 'move', moveTo: 'delivered' }], /input\.moveTo must be an absolute path/],
    ['addFolder', [{ path: '/media/card', destinationId: 1, destinationIds: [] }], /input\.destinationIds must be at least 1 items/],
    ['addFolder', [{ path: '/media/card', destinationId: 1, priority: 'urgent' }], /input\.priority must be one of "high", "normal", "low"/],
    ['abortOrphans', [1, -1], /abortOrphans: olderThanDays must be a whole number of days, at least 0/],
    ['installLifecycleRule', [1, 0], /installLifecycleRule: days must be a whole number of days, at least 1/],
    // The CLI's range (hoist uploads lifecycle --days 1..3650): the app may not set what the CLI refuses.
    ['installLifecycleRule', [1, 3651], /installLifecycleRule: days must be at most 3650 days/],
    ['retryWebhookDeliveries', [[]], /retryWebhookDeliveries: ids/],
    ['retryWebhookDeliveries', ['all'], /retryWebhookDeliveries: ids/],
    ['abortRemoteUpload', [1, 'k'.repeat(1025), 'u'], /abortRemoteUpload: key must be at most 1024 bytes/],
    ['abortRemoteUpload', [1, 'é'.repeat(513), 'u'], /key must be at most 1024 bytes/],
    ['addFolder', [{ path: '/media/card/../../etc', destinationId: 1 }], /^addFolder: input\.path must not contain \. or \.\. segments\.$/],
    ['addFolder', [{ path: '/media/./card', destinationId: 1 }], /input\.path must not contain \. or \.\. segments/],
    ['setBandwidthLimit', [{ destinationId: null, bytesPerSecond: 100, schedule: [] }], /^setBandwidthLimit: input\.bytesPerSecond must be at least 1024 bytes per second/],
    ['setBandwidthLimit', [{ destinationId: null, bytesPerSecond: null, schedule: [{ from: '9:00', to: '18:00', bytesPerSecond: null }] }], /^setBandwidthLimit: input\.schedule\.0\.from must be a time of day, HH:MM\.$/],
    ['setBandwidthLimit', [{ destinationId: null, bytesPerSecond: null, schedule: [{ from: '09:00', to: '18:00', bytesPerSecond: null, days: ['someday'] }] }], /input\.schedule\.0\.days\.0 must be one of "sun", "mon"/],
    ['setBandwidthLimit', [{ destinationId: null, bytesPerSecond: null, schedule: [{ from: '09:00', to: '18:00', bytesPerSecond: null, days: [] }] }], /input\.schedule\.0\.days must name at least one day/],
    ['setConcurrencyBounds', [1, { min: 8, max: 2 }], /^setConcurrencyBounds: bounds must have min at most max\.$/],
    ['setConcurrencyBounds', [1, { min: 0, max: 2 }], /setConcurrencyBounds: bounds\.min must be at least 1/],
    ['saveSettings', [{ ...VALID.saveSettings[0] as object, logLevel: 'trace' }], /^saveSettings: settings\.logLevel must be one of "debug", "info", "warn", "error"\.$/],
    ['saveSettings', [{ ...VALID.saveSettings[0] as object, theme: 'dark' }], /saveSettings: settings has unknown field\(s\) "theme"/],
    ['saveSettings', [{ ...VALID.saveSettings[0] as object, notifications: { batchDelivered: true } }], /^saveSettings: settings\.notifications\.jobFailed is missing\.$/],
    ['abortRemoteUpload', [1, 'shoot/\ud800.mov', 'u'], /^abortRemoteUpload: key must be well-formed Unicode\.$/],
    ['abortRemoteUpload', [1, 'k', 'up\udc00'], /abortRemoteUpload: uploadId must be well-formed Unicode/],
    ['listRemoteUploads', [1, '\ud83c'], /listRemoteUploads: prefix must be well-formed Unicode/],
    ['sendFiles', [{ ...VALID.sendFiles[0] as object, ifExists: 'clobber' }], /^sendFiles: input\.ifExists must be one of "skip-identical", "keep-both", "never-overwrite", "overwrite"\.$/],
    // The local test server: the renderer names no script, folder or port; the host alone decides whether it is offered.
    ['useLocalTestServer', ['/bin/sh'], /^useLocalTestServer takes no arguments\.$/],
    ['useLocalTestServer', [{ script: '/tmp/evil.sh', dataDir: '/' }], /useLocalTestServer takes no arguments/],
    ['testDraftDestination', [{ ...destination, id: 3 }], /^testDraftDestination: input has unknown field\(s\) "id"\.$/],
    ['testDraftDestination', [{ ...destination, endpoint: 'file:///etc/passwd' }], /testDraftDestination: input\.endpoint must be an http/],
  ];
  for (const [name, args, expected] of cases) assert.match(refusal(name, args), expected, `${String(name)} ${JSON.stringify(args)}`);
});

test('hostile values are refused as invalid arguments, never thrown through', () => {
  const throwingGetter = Object.defineProperty({}, 'id', { enumerable: true, get: () => { throw new Error('boom'); } });
  const throwingProxy = new Proxy([], { get: () => { throw new Error('trap'); }, ownKeys: () => { throw new Error('trap'); } });
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  const hostile: unknown[] = [
    throwingProxy,
    [throwingGetter],
    [throwingProxy],
    [10n],
    [Symbol('x')],
    [() => 1],
    deep,
    [deep],
    JSON.parse('[{"__proto__": {"polluted": true}, "path": "/x", "destinationId": 1}]'),
    new Array(100_000).fill(1),
  ];
  for (const name of ['getJob', 'addFolder', 'listJobs', 'saveDestination']) {
    for (const args of hostile) refusal(name, args);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
});

test('random inputs: every outcome is either valid arguments or a config.invalid refusal', () => {
  // A small deterministic generator, so a failure can be replayed.
  let seed = 0x5eed;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const atoms: unknown[] = [null, undefined, true, false, 0, -1, 1, 2 ** 53, NaN, Infinity, 1.5, '', 'x', '/abs', 'queued', 'high', 'keep', '../..', '\u0000', 'é'.repeat(600)];
  const value = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.5) return pick(atoms);
    if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    const keys = [...Object.keys(destination), 'path', 'destinationId', 'states', 'limit', 'offset', 'sort', 'include', 'zzz'];
    return Object.fromEntries(Array.from({ length: Math.floor(rand() * 6) }, () => [pick(keys), value(depth + 1)]));
  };
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    const name = rand() < 0.9 ? pick(HOIST_COMMANDS) : value(1);
    const args = rand() < 0.9 ? Array.from({ length: Math.floor(rand() * 4) }, () => value(1)) : value(0);
    try {
      const command = validateCommand(name, args);
      assert.equal(command.name, name);
      assert.ok(Array.isArray(command.args));
      accepted++;
    } catch (err) {
      assert.ok(err instanceof HoistError, `case ${i}: threw ${String(err)}`);
      assert.equal(err.code, 'config.invalid');
      assert.ok(err.message.length > 0 && err.message.length < 500, err.message);
    }
  }
  assert.ok(accepted > 0, 'some random calls are valid (argument-less commands at least)');
});
