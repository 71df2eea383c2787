// The `--mode fake` build's records (issue 14): ASC MHL batches in every state, webhook deliveries
// of two folders (one receiver failing), a lifecycle rule and a log path. Never in the production build.
import type { HoistApi } from '../../shared/contract.js';
import type { AbortIncompleteSummary, BatchEntry, WebhookDelivery } from '../../shared/records.js';

type FakeRecords = Pick<HoistApi, 'listBatches' | 'retryBatch' | 'listWebhookDeliveries' | 'retryWebhookDeliveries' | 'lifecycleRule' | 'supportInfo'>;

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const MIN = 60_000;

function batch(id: number, status: BatchEntry['status'], root: string, files: number, extra: Partial<BatchEntry['batch']> = {}): BatchEntry {
  const written = status === 'written';
  const generation = written || status === 'retrying' ? id : null;
  const keyPrefix = `shoot-0925/${root.split('/').pop()}/`;
  const manifestKey = generation ? `${keyPrefix}ascmhl/${String(generation).padStart(4, '0')}_${root.split('/').pop()}_2026-12-04_101500Z.mhl` : null;
  return {
    batch: {
      id, destinationId: 1, root, bucket: 'footage', keyPrefix, state: status === 'retrying' ? 'sealed' : status, generation, manifestKey, jobs: files,
      error: status === 'failed' || status === 'retrying' ? { code: 's3.access-denied', message: 'Permission denied for PutObject: the manifest could not be written.' } : null,
      createdAt: ago(id * 7 * MIN), writtenAt: written ? ago(id * 6 * MIN) : null, ...extra,
    },
    status,
    attempts: status === 'failed' ? 6 : status === 'retrying' ? 2 : 0,
    nextAttemptAt: status === 'retrying' ? new Date(Date.now() + 40_000).toISOString() : null,
    manifestUrl: manifestKey ? `s3://footage/${manifestKey}` : null,
    files: Array.from({ length: files }, (_, i) => ({ jobId: id * 10 + i, sourcePath: `${root}/Clips/A00${id}_C00${i + 1}.mov`, key: `${keyPrefix}Clips/A00${id}_C00${i + 1}.mov`, state: status === 'open' && i === files - 1 ? 'running' : 'done' })),
  };
}

function delivery(n: number, state: WebhookDelivery['state'], folderId: number, kind: string, url: string): WebhookDelivery {
  return {
    id: `8d0d2f5e-4d0b-4c55-9a55-0f6f1f3c2a${String(n).padStart(2, '0')}`, kind, url, state,
    attempts: state === 'delivered' ? 1 : state === 'owed' ? 3 : 41,
    createdAt: ago(n * 5 * MIN), deliveredAt: state === 'delivered' ? ago(n * 5 * MIN - 2000) : null,
    nextAttemptAt: state === 'owed' ? new Date(Date.now() + 50_000).toISOString() : null,
    lastError: state === 'delivered' ? null : 'HTTP 503 Service Unavailable',
    folderId, folderPath: folderId === 1 ? '/Volumes/Offload/Day01' : '/Volumes/Renders',
  };
}

export function fakeRecords(): FakeRecords {
  const batches = [batch(1, 'written', '/Volumes/A002R2EC', 3), batch(2, 'failed', '/Volumes/A003R1FD', 2), batch(3, 'retrying', '/Volumes/Offload/Day01', 4), batch(4, 'open', '/Volumes/Offload/Day02', 2)];
  const events = [
    delivery(6, 'delivered', 1, 'job.done', 'https://hooks.example.com/hoist'),
    delivery(5, 'delivered', 1, 'batch.done', 'https://hooks.example.com/hoist'),
    delivery(4, 'given-up', 2, 'job.failed', 'https://render-farm.example.com/hooks/hoist'),
    delivery(3, 'owed', 2, 'job.done', 'https://render-farm.example.com/hooks/hoist'),
    delivery(1, 'delivered', 1, 'job.done', 'https://hooks.example.com/hoist'),
  ];
  const lifecycle: AbortIncompleteSummary = { bucket: 'footage', rule: { id: 'hoist-abort-incomplete-multipart', days: 7, prefix: '', enabled: true }, others: [{ id: 'archive-tier', days: 30, prefix: 'old/', enabled: true }], rules: 3 };
  return {
    listBatches: async () => batches,
    retryBatch: async (id) => {
      const b = batches.find((x) => x.batch.id === id)!;
      Object.assign(b, { status: 'sealed', attempts: 0 });
      return b;
    },
    listWebhookDeliveries: async (owedOnly) => events.filter((e) => !owedOnly || e.state === 'owed'),
    retryWebhookDeliveries: async (ids) => {
      const hit = events.filter((e) => e.state !== 'delivered' && (ids === 'given-up' ? e.state === 'given-up' : ids.includes(e.id)));
      hit.forEach((e) => Object.assign(e, { state: 'owed', nextAttemptAt: new Date().toISOString() }));
      return hit.length;
    },
    lifecycleRule: async () => lifecycle,
    supportInfo: async () => ({ logFile: '/Users/ana/Library/Application Support/Hoist/hoist.log', logExists: true, appVersion: '0.1.0' }),
  };
}
