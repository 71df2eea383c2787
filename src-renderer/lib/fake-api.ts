// A pretend host for `--mode fake` builds only (design work and screenshots of a busy queue):
// a small simulated post house with camera originals moving to two buckets. Never used by the
// end-to-end test, which drives the real headless host, engine and S3 server.
import type { HoistApi, JobAction, JobDetail, JobFilter, JobQuery, JobTarget, Unsubscribe } from '../../shared/contract.js';
import { ERROR_CODES, type ErrorInfo } from '../../shared/errors.js';
import { holdsUpload } from '../../shared/kept-upload.js';
import { AMAZON_S3_MAX_OBJECT_SIZE, COMPATIBLE_MAX_OBJECT_SIZE, MAX_PARTS } from '../../shared/limits.js';
import { DEFAULT_FILE_HASHES, JOB_STATES, type FileHashAlgorithm, type FileHashes, type JobState } from '../../shared/states.js';
import type { ConnectionCheck, Destination, Job, JobEvent, JobProgress, MhlBatch, Part, RemoteUploadSummary, Totals, WatchedFolder } from '../../shared/types.js';
import { fakeControls } from './fake-controls.js';
import { fakeLocalFiles } from './fake-files.js';
import { fakeRecords } from './fake-records.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DAY = 86_400_000;
const TICK_MS = 200;

interface SimJob extends Job {
  rate: number;
  history: JobEvent[];
}

/** Deterministic pseudo-random hex, so ETags look real and stay put between reloads. */
function hex(seed: number, length: number): string {
  let x = seed * 2654435761;
  let out = '';
  while (out.length < length) {
    x = (x ^ (x >>> 13)) * 1274126177;
    x = x ^ (x >>> 16);
    out += (x >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

function b64(seed: number): string {
  const bytes = hex(seed, 32).match(/../g)!.map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...bytes));
}

function iso(msAgo: number): string {
  return new Date(Date.now() - msAgo).toISOString();
}

function errorInfo(code: keyof typeof ERROR_CODES, operation?: string): ErrorInfo {
  return { code, operation, message: ERROR_CODES[code].message.replace('{op}', operation ?? 'the request'), httpStatus: code === 's3.access-denied' ? 403 : undefined };
}

const FOLDER_DEFAULTS = {
  destinationIds: [1], after: 'keep', moveTo: null, priority: 'normal', prefix: '', include: [], exclude: [], singlePutThreshold: null, ifExists: null, growing: false,
  stableMs: 5000, enabled: true, hashAlgorithms: ['xxh64'], mhl: false, webhookUrl: null,
} satisfies Omit<WatchedFolder, 'id' | 'path' | 'destinationId' | 'createdAt'>;

/** Plausible hash values of the right lengths: 16 hex digits for xxh64, 32 for md5, a 90-character C4 ID. */
function hashesOf(j: Pick<Job, 'id' | 'hashAlgorithms'>): FileHashes {
  const lengths: Record<FileHashAlgorithm, number> = { xxh64: 16, xxh3: 16, xxh128: 32, md5: 32, sha1: 40, sha256: 64, c4: 88 };
  return Object.fromEntries(j.hashAlgorithms.map((a) => [a, a === 'c4' ? `c4${hex(j.id * 13, 88).replace(/[0-9]/g, (d) => 'ABCDEFGHJK'[Number(d)]!)}` : hex(j.id * 97 + lengths[a], lengths[a])]));
}

export function createFakeApi(): HoistApi {
  const destinations: Destination[] = [
    {
      id: 1, name: 'Masters archive', endpoint: null, region: 'us-west-2', bucket: 'northlight-masters', prefix: '', pathStyle: false,
      profile: 'northlight', storageClass: 'STANDARD_IA', sse: 'AES256', sseKmsKeyId: null, partSize: 256 * MiB, concurrency: 8,
      singlePutThreshold: 100 * MiB, maxObjectSize: AMAZON_S3_MAX_OBJECT_SIZE, maxParts: MAX_PARTS, checksumAlgorithm: 'crc32c', ifExists: 'skip-identical', integrity: 'auto', checksumProbe: { verifies: true, endpoint: 'https://s3.us-west-2.amazonaws.com', checkedAt: '2026-12-01T09:00:00.000Z' }, credentials: 'chain',
    },
    {
      id: 2, name: 'Studio dailies', endpoint: 'https://objects.northlight.studio', region: 'us-east-1', bucket: 'dailies', prefix: 'ingest/', pathStyle: true,
      profile: null, storageClass: null, sse: null, sseKmsKeyId: null, partSize: 64 * MiB, concurrency: 4,
      singlePutThreshold: 100 * MiB, maxObjectSize: COMPATIBLE_MAX_OBJECT_SIZE, maxParts: MAX_PARTS, checksumAlgorithm: null, ifExists: 'skip-identical', integrity: 'auto', checksumProbe: null, credentials: 'saved',
    },
  ];
  const folders: WatchedFolder[] = [
    {
      ...FOLDER_DEFAULTS, id: 1, path: '/Volumes/RAID/Offload/Day_04', destinationId: 1, destinationIds: [1, 2], after: 'move', moveTo: '/Volumes/RAID/Delivered/Day_04',
      prefix: 'shoot-0925/day04/', include: ['**/*.mov', '**/*.mxf'], exclude: ['**/proxies/**'], stableMs: 10_000, hashAlgorithms: ['xxh64', 'md5'], mhl: true,
      webhookUrl: 'https://hooks.slack.com/services/T0NL/B0DAILIES/x8RzQ', createdAt: iso(3 * DAY),
    },
    { ...FOLDER_DEFAULTS, id: 2, path: '/Volumes/RAID/Recorders/Stage_B', destinationId: 2, destinationIds: [2], priority: 'high', prefix: 'stage-b/', growing: true, stableMs: 5_000, createdAt: iso(9 * DAY) },
    { ...FOLDER_DEFAULTS, id: 3, path: '/srv/exports/finals', destinationId: 1, destinationIds: [1], priority: 'low', prefix: 'finals/', singlePutThreshold: 512 * MiB, stableMs: 30_000, hashAlgorithms: ['xxh64', 'sha256'], enabled: false, createdAt: iso(20 * DAY) },
  ];

  let nextId = 1;
  const jobs: SimJob[] = [];
  function addJob(name: string, size: number, state: JobState, fraction: number, destinationId = 1, extra: Partial<SimJob> = {}): SimJob {
    const dest = destinations.find((d) => d.id === destinationId)!;
    const folder = folders.find((f) => f.destinationIds.includes(destinationId))!;
    const partSize = Math.max(dest.partSize, Math.ceil(size / 10_000 / MiB) * MiB);
    const partCount = Math.ceil(size / partSize);
    const partsDone = Math.floor(partCount * fraction);
    const id = nextId++;
    const created = (40 - id) * 180_000;
    const job: SimJob = {
      id, destinationId, destination: dest.name, sourcePath: `${folder.path}/${name}`, bucket: dest.bucket, key: `${dest.prefix}${folder.prefix}${name}`, size, state,
      priority: folder.priority, mode: 'multipart', hashAlgorithms: [...folder.hashAlgorithms], hashes: {}, verifiedBy: null, batchId: folder.mhl ? destinationId : null, ifExists: 'skip-identical', outcome: state === 'done' ? 'created' : null, waitingFor: null, clearedAt: null, node: null, partSize, partCount, partsDone, bytesDone: Math.min(size, partsDone * partSize),
      checksumAlgorithm: dest.checksumAlgorithm, uploadId: state === 'queued' ? null : `2~${hex(id, 32)}`, uploadKept: false, etag: null, versionId: null, error: null, flag: null, attempts: 0, serverEncryption: null, etagVerified: null, integrity: null, proof: null, integrityMode: 'auto', contentMd5: true, checksumType: null, fullObjectChecksum: null,
      createdAt: iso(created), startedAt: state === 'queued' ? null : iso(created - 60_000), finishedAt: null, rate: 0,
      history: [{ at: iso(created), kind: 'queued', code: null, operation: null, message: 'Queued: the file stopped changing.' }],
      ...extra,
    };
    if (state !== 'queued') job.history.push({ at: job.startedAt!, kind: 'started', code: null, operation: null, message: `Multipart upload created: ${partCount} parts of ${partSize / MiB} MiB.` });
    if (state === 'done') {
      job.partsDone = partCount;
      job.bytesDone = size;
      job.etag = `"${hex(id * 7, 32)}-${partCount}"`;
      job.finishedAt = iso(created - 20 * 60_000);
      job.history.push({ at: job.finishedAt, kind: 'done', code: null, operation: null, message: `Completed and verified: ETag matches the MD5 of the ${partCount} parts.` });
      job.etagVerified = true;
      job.integrity = "ETag matched the MD5 of the parts' MD5s; Content-MD5 accepted by the server for every part";
      job.hashes = hashesOf(job);
    }
    jobs.push(job);
    return job;
  }

  addJob('A004_C009_0925QX.mov', 143 * GiB, 'done', 1).verifiedBy = { manifest: 'ascmhl/0001_Day_04_2026-09-25_071204Z.mhl', algorithms: ['xxh64'] };
  addJob('A004_C010_0925QX.mov', 151 * GiB, 'done', 1);
  addJob('A004_C011_0925QX.mov', 97 * GiB, 'done', 1);
  // Offloaded twice: the second copy found its bytes already in the bucket and sent nothing.
  addJob('A004_C011_0925QX.mov', 97 * GiB, 'done', 1, 1, { outcome: 'already-there' }).history.push({ at: iso(2 * 60_000), kind: 'already-there', code: null, operation: null, message: 'Already in the bucket: it holds this file\'s bytes (same size and multipart ETag); nothing was sent.' });
  addJob('B002_C006_0925RT.mxf', 64 * GiB, 'failed', 0.42, 1, {
    error: errorInfo('s3.access-denied', 'UploadPart'),
    attempts: 4,
    uploadKept: true,
  }).history.push(
    { at: iso(50 * 60_000), kind: 'error', code: 'net.timeout', operation: 'UploadPart', message: ERROR_CODES['net.timeout'].message.replace('{op}', 'UploadPart') },
    { at: iso(41 * 60_000), kind: 'failed', code: 's3.access-denied', operation: 'UploadPart', message: ERROR_CODES['s3.access-denied'].message.replace('{op}', 'UploadPart') },
  );
  addJob('RENDER_reel3_v12_ProRes4444XQ.mov', 1.38 * 1024 * GiB, 'paused', 0.61, 1).history.push({ at: iso(25 * 60_000), kind: 'paused', code: null, operation: null, message: 'Paused; finished parts are kept.' });
  addJob('A004_C012_0925QX.mov', 212 * GiB, 'running', 0.37, 1, { rate: 212e6 });
  addJob('A004_C013_0925QX.mov', 188 * GiB, 'running', 0.12, 1, { rate: 174e6 });
  const take14 = addJob('STGB_0925_take14.mov', 22 * GiB, 'running', 0.81, 2, { rate: 96e6 });
  addJob('A004_C012_0925QX.mov', 212 * GiB, 'queued', 0, 2);
  // The same take queued again while the first still writes its key: it waits (one writer per key).
  addJob('STGB_0925_take14.mov', 22 * GiB, 'queued', 0, 2, { waitingFor: take14.id });
  addJob('A004_C014_0925QX.mov', 176 * GiB, 'queued', 0);
  addJob('A004_C015_0925QX.mov', 203 * GiB, 'queued', 0);
  addJob('B002_C007_0925RT.mxf', 58 * GiB, 'queued', 0);
  addJob('B002_C008_0925RT.mxf', 61 * GiB, 'queued', 0);
  addJob('A004_C008_0925QX_test.mov', 3.2 * GiB, 'cancelled', 0.2, 1, { priority: 'low' });

  const listeners = { job: new Set<(j: Job) => void>(), progress: new Set<(p: JobProgress[]) => void>(), remote: new Set<(d: number) => void>() };
  const publicJob = ({ rate: _rate, history: _history, ...job }: SimJob): Job => ({ ...job });
  const changed = (j: SimJob) => listeners.job.forEach((l) => l(publicJob(j)));

  function transition(j: SimJob, state: JobState, kind: string, message: string): void {
    j.state = state;
    if (state === 'cancelled') j.uploadId = null;
    j.uploadKept = holdsUpload(j);
    j.history.push({ at: new Date().toISOString(), kind, code: null, operation: null, message });
    changed(j);
  }

  // The simulation: running jobs move at a wobbling rate; a finished one is verified, then done.
  let phase = 0;
  setInterval(() => {
    phase += TICK_MS / 1000;
    const running = jobs.filter((j) => j.state === 'running');
    const progress: JobProgress[] = [];
    for (const j of running) {
      const rate = (j.rate || 150e6) * (1 + 0.18 * Math.sin(phase * 0.7 + j.id) + 0.07 * Math.sin(phase * 2.3 + j.id * 3));
      j.bytesDone = Math.min(j.size, j.bytesDone + (rate * TICK_MS) / 1000);
      j.partsDone = Math.min(j.partCount, Math.floor(j.bytesDone / j.partSize));
      if (j.bytesDone >= j.size) {
        transition(j, 'completing', 'completing', 'All parts sent; completing the upload.');
        setTimeout(() => {
          j.etag = `"${hex(j.id * 7, 32)}-${j.partCount}"`;
          j.finishedAt = new Date().toISOString();
          transition(j, 'done', 'done', `Completed and verified: ETag matches the MD5 of the ${j.partCount} parts.`);
        }, 1500);
      }
      // The hash pass reads ahead of the upload (a local disk is faster than the link) and then stops reporting.
      const hashed = j.hashAlgorithms.length && !j.hashes[j.hashAlgorithms[0]!] ? Math.min(j.size, j.bytesDone * 1.6 + 40 * GiB) : undefined;
      if (hashed === j.size) j.hashes = hashesOf(j);
      progress.push({ jobId: j.id, state: j.state, bytesSent: j.bytesDone, size: j.size, partsDone: j.partsDone, partCount: j.partCount, rate, etaSeconds: (j.size - j.bytesDone) / rate, ...(hashed !== undefined ? { hashedBytes: hashed } : {}) });
    }
    if (jobs.filter((j) => j.state === 'running').length < 3) {
      const next = jobs.find((j) => j.state === 'queued');
      if (next) {
        next.uploadId = `2~${hex(next.id, 32)}`;
        next.startedAt = new Date().toISOString();
        next.rate = 160e6;
        transition(next, 'running', 'started', `Multipart upload created: ${next.partCount} parts of ${next.partSize / MiB} MiB.`);
      }
    }
    if (progress.length) listeners.progress.forEach((l) => l(progress));
  }, TICK_MS);

  const remote: Record<number, RemoteUploadSummary[]> = {
    1: [
      { bucket: 'northlight-masters', key: 'shoot-0918/day02/A001_C044_0918KL.mov', uploadId: `2~${hex(901, 32)}`, initiated: iso(12 * DAY), storageClass: 'STANDARD_IA', jobId: null, parts: 78, bytes: 78 * 256 * MiB },
      { bucket: 'northlight-masters', key: 'tmp/render_test_v3.mov', uploadId: `2~${hex(902, 32)}`, initiated: iso(41 * DAY), storageClass: 'STANDARD', jobId: null, parts: 2, bytes: 128 * MiB },
    ],
    2: [],
  };
  function remoteFor(destinationId: number): RemoteUploadSummary[] {
    const ours = jobs
      .filter((j) => j.destinationId === destinationId && j.uploadId && ['running', 'paused', 'failed', 'completing'].includes(j.state))
      .map((j) => ({ bucket: j.bucket, key: j.key, uploadId: j.uploadId!, initiated: j.startedAt, storageClass: destinations.find((d) => d.id === destinationId)!.storageClass, jobId: j.id, parts: j.partsDone, bytes: j.partsDone * j.partSize }));
    return [...(remote[destinationId] ?? []), ...ours];
  }

  function partsOf(j: SimJob): Part[] {
    const sending = j.state === 'running' ? destinations.find((d) => d.id === j.destinationId)!.concurrency : 0;
    return Array.from({ length: j.partCount }, (_, i) => {
      const partNumber = i + 1;
      const state = i < j.partsDone ? 'done' : i < j.partsDone + sending ? 'sending' : 'pending';
      const length = Math.min(j.partSize, j.size - i * j.partSize);
      return {
        partNumber, offset: i * j.partSize, length, state,
        etag: state === 'done' ? `"${hex(j.id * 10_000 + partNumber, 32)}"` : null,
        md5: state === 'pending' ? null : b64(j.id * 10_000 + partNumber),
        checksum: state !== 'pending' && j.checksumAlgorithm ? btoa(hex(partNumber * 31 + j.id, 8)).slice(0, 8) : null,
        sends: partNumber === 17 && j.id === 6 ? 2 : state === 'pending' ? 0 : 1,
      } satisfies Part;
    });
  }

  /** Day 04's batch per destination: still collecting while anything of it moves. */
  function batchOf(j: SimJob): MhlBatch | null {
    if (j.batchId === null) return null;
    const members = jobs.filter((x) => x.batchId === j.batchId);
    const written = members.every((x) => x.state === 'done' || x.state === 'cancelled');
    const folder = folders[0]!;
    const dest = destinations.find((d) => d.id === j.destinationId)!;
    const keyPrefix = `${dest.prefix}${folder.prefix}`;
    return {
      id: j.batchId, destinationId: j.destinationId, root: folder.path, bucket: j.bucket, keyPrefix, state: written ? 'written' : 'open',
      generation: written ? 2 : null, manifestKey: written ? `${keyPrefix}ascmhl/0002_Day_04_2026-09-25_184410Z.mhl` : null,
      jobs: members.length, error: null, createdAt: iso(3 * DAY), writtenAt: written ? iso(20 * 60_000) : null,
    };
  }

  const later = <T>(value: T, ms = 120) => new Promise<T>((r) => setTimeout(() => r(value), ms));
  const find = (id: number) => {
    const j = jobs.find((x) => x.id === id);
    if (!j) throw { code: 'config.invalid', message: `There is no job ${id}.` } satisfies ErrorInfo;
    return j;
  };
  const on = <T>(set: Set<T>, l: T): Unsubscribe => {
    set.add(l);
    return () => set.delete(l);
  };

  const matches = (j: SimJob, f: JobFilter) => {
    const search = f.search?.trim().toLowerCase() ?? '';
    return !j.clearedAt && (!f.states?.length || f.states.includes(j.state)) && (!search || `${j.key}\n${j.sourcePath}`.toLowerCase().includes(search));
  };
  /** One job through the same commands the single-job buttons use; true when it changed. */
  const actOn = async (api: HoistApi, j: SimJob, action: JobAction): Promise<boolean> => {
    if (typeof action === 'object') return j.priority !== action.priority && (await api.setPriority(j.id, action.priority));
    if (action === 'clear') {
      if ((j.state !== 'done' && j.state !== 'cancelled') || j.flag) return false;
      j.clearedAt = new Date().toISOString();
      changed(j);
      return true;
    }
    const can: Record<typeof action, boolean> = {
      pause: j.state === 'running' || j.state === 'queued',
      resume: j.state === 'paused',
      retry: j.state === 'failed',
      cancel: j.state !== 'done' && j.state !== 'cancelled',
    };
    if (!can[action]) return false;
    return { pause: api.pauseJob, resume: api.resumeJob, retry: api.retryJob, cancel: api.cancelJob }[action](j.id);
  };

  const api: HoistApi = {
    async actOnJobs(target: JobTarget, action: JobAction) {
      const list = 'ids' in target ? jobs.filter((j) => target.ids.includes(j.id)) : jobs.filter((j) => matches(j, target.filter));
      let n = 0;
      for (const j of list) if (await actOn(api, j, action)) n++;
      return later({ matched: list.length, changed: n }, 120);
    },
    async listJobs(q: JobQuery) {
      const order: Record<string, (a: SimJob, b: SimJob) => number> = {
        id: (a, b) => a.id - b.id,
        state: (a, b) => JOB_STATES.indexOf(a.state) - JOB_STATES.indexOf(b.state),
        size: (a, b) => a.size - b.size,
        progress: (a, b) => a.bytesDone / a.size - b.bytesDone / b.size,
        createdAt: (a, b) => a.createdAt.localeCompare(b.createdAt),
      };
      const list = jobs.filter((j) => matches(j, q)).sort(order[q.sort ?? 'id']);
      if (q.descending) list.reverse();
      const offset = q.offset ?? 0;
      return later({ jobs: list.slice(offset, offset + (q.limit ?? 100)).map(publicJob), total: list.length }, 40);
    },
    async getJob(id) {
      const j = jobs.find((x) => x.id === id);
      return later(j ? ({ job: publicJob(j), parts: partsOf(j), history: j.history, batch: batchOf(j) } satisfies JobDetail) : null, 60);
    },
    listFolders: () => later(folders.map((f) => ({ ...f }))),
    listDestinations: () => later(destinations.map((d) => ({ ...d }))),
    async totals(): Promise<Totals> {
      const byState: Record<string, number> = {};
      for (const j of jobs) byState[j.state] = (byState[j.state] ?? 0) + 1;
      const live = jobs.filter((j) => j.state !== 'cancelled');
      return later({ byState, bytesTotal: live.reduce((n, j) => n + j.size, 0), bytesDone: live.reduce((n, j) => n + j.bytesDone, 0), rate: 0 }, 30);
    },
    listRemoteUploads: (destinationId) => later(remoteFor(destinationId), 500),
    async addFolder(input) {
      const folder: WatchedFolder = {
        ...FOLDER_DEFAULTS, hashAlgorithms: [...DEFAULT_FILE_HASHES], ...input, destinationIds: input.destinationIds ?? [input.destinationId],
        moveTo: input.moveTo ?? null, webhookUrl: input.webhookUrl ?? null, id: Math.max(0, ...folders.map((f) => f.id)) + 1, createdAt: new Date().toISOString(),
      };
      folders.push(folder);
      return later(folder);
    },
    async setFolderWebhook(id, url) {
      const folder = folders.find((f) => f.id === id)!;
      folder.webhookUrl = url;
      return later({ ...folder });
    },
    async setFolderPriority(id, priority) {
      const folder = folders.find((f) => f.id === id)!;
      folder.priority = priority;
      return later({ ...folder });
    },
    async removeFolder(id) {
      folders.splice(folders.findIndex((f) => f.id === id), 1);
      return later(undefined);
    },
    async saveDestination(input) {
      const saved = { credentials: 'chain', integrity: 'auto', checksumProbe: null, ...input, id: input.id ?? destinations.length + 1 } as Destination;
      const i = destinations.findIndex((d) => d.id === saved.id);
      if (i >= 0) destinations[i] = saved;
      else destinations.push(saved);
      return later(saved);
    },
    async removeDestination(id) {
      destinations.splice(destinations.findIndex((d) => d.id === id), 1);
      return later(undefined);
    },
    async testConnection(destinationId): Promise<ConnectionCheck[]> {
      const deny = destinationId === 2 ? 'AbortMultipartUpload' : null;
      const perms = ['PutObject', 'ListBucketMultipartUploads', 'ListMultipartUploadParts', 'AbortMultipartUpload'] as const;
      const encryption: ConnectionCheck = {
        permission: 'GetEncryptionConfiguration', ok: true, code: null,
        message: "No default encryption. Uploads get Content-MD5 on every part (the server refuses a mismatch with BadDigest), and the object's ETag is checked against the MD5s computed here.",
      };
      return later(
        [
          ...perms.map((permission): ConnectionCheck =>
            permission === deny
              ? { permission, ok: false, code: 's3.access-denied', message: ERROR_CODES['s3.access-denied'].message.replace('{op}', permission) }
              : { permission, ok: true, code: null, message: 'Allowed.' },
          ),
          encryption,
        ],
        900,
      );
    },
    async pauseJob(id) {
      const j = find(id);
      if (j.state !== 'running' && j.state !== 'queued') return false;
      transition(j, 'paused', 'paused', 'Paused; finished parts are kept.');
      return true;
    },
    async resumeJob(id) {
      const j = find(id);
      if (j.state !== 'paused') return false;
      transition(j, 'queued', 'resumed', 'Resumed.');
      return true;
    },
    async cancelJob(id) {
      const j = find(id);
      if (j.state === 'done' || j.state === 'cancelled') return false;
      transition(j, 'cancelled', 'cancelled', 'Cancelled.');
      return true;
    },
    async retryJob(id) {
      const j = find(id);
      if (j.state !== 'failed') return false;
      j.error = null;
      transition(j, 'queued', 'resumed', 'Retried.');
      return true;
    },
    async setPriority(id, priority) {
      find(id).priority = priority;
      changed(find(id));
      return true;
    },
    async pauseAll() {
      const list = jobs.filter((j) => j.state === 'running' || j.state === 'queued');
      list.forEach((j) => transition(j, 'paused', 'paused', 'Paused; finished parts are kept.'));
      return list.length;
    },
    async resumeAll() {
      const list = jobs.filter((j) => j.state === 'paused');
      list.forEach((j) => transition(j, 'queued', 'resumed', 'Resumed.'));
      return list.length;
    },
    async abortRemoteUpload(destinationId, _key, uploadId) {
      remote[destinationId] = (remote[destinationId] ?? []).filter((u) => u.uploadId !== uploadId);
      listeners.remote.forEach((l) => l(destinationId));
      return later(undefined, 300);
    },
    async abortOrphans(destinationId, olderThanDays) {
      const cutoff = Date.now() - olderThanDays * DAY;
      const all = remote[destinationId] ?? [];
      const keep = all.filter((u) => u.initiated !== null && Date.parse(u.initiated) > cutoff);
      remote[destinationId] = keep;
      return later({ aborted: all.length - keep.length, kept: keep.length }, 400);
    },
    installLifecycleRule: () => later({ rules: 3 }, 400),
    runnerState: () => later({ state: 'working' as const }),
    // A first run: the simulated host offers everything; a draft passes unless its secret is "wrong".
    setupInfo: () => later({ localTestServer: true, keychain: true, profiles: ['default', 'post-house'] }),
    async testDraftDestination(_input, credentials) {
      const denied = credentials?.secretAccessKey === 'wrong';
      const checks = await this.testConnection(1);
      return denied ? checks.map((c) => ({ ...c, ok: false, code: 'auth.invalid-credentials', message: ERROR_CODES['auth.invalid-credentials'].message })) : checks;
    },
    async useLocalTestServer() {
      return this.saveDestination({ ...destinations[0]!, name: 'Local test server', endpoint: 'http://127.0.0.1:7480', bucket: 'hoist-local' });
    },
    onJobChanged: (l) => on(listeners.job, l),
    onProgress: (l) => on(listeners.progress, l),
    onRemoteChanged: (l) => on(listeners.remote, l),
    // The simulated host always works its queue.
    onRunnerChanged: () => () => undefined,
    ...fakeLocalFiles(destinations, (file, input) => {
      const job = addJob(file.path.split('/').pop()!, file.size, 'queued', 0, input.destinationId, { key: file.key, sourcePath: file.path, priority: input.priority, hashAlgorithms: input.hashes });
      changed(job);
      return job.id;
    }),
    ...fakeRecords(),
    ...fakeControls(destinations),
  };
  return api;
}
