// Webhook events as `hoist webhooks` and the app's webhooks screen list them (issue 14): delivered,
// owed (next attempt, last error, attempts) or given up, each with the watched folder its body
// names, so the app can group them per folder.
import type { WebhookDelivery, WebhookDeliveryState } from '../../../shared/records.js';
import type { OutboxItem } from '../store/outbox-store.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function stateOf(i: OutboxItem): WebhookDeliveryState {
  return i.deliveredAt !== null ? 'delivered' : i.givenUpAt !== null ? 'given-up' : 'owed';
}

/** The folder an event's body names (every event Hoist makes carries `folder: { id, path }`). */
function folderOf(body: string): { id: number; path: string } | null {
  try {
    const folder = (JSON.parse(body) as { folder?: { id?: unknown; path?: unknown } }).folder;
    return typeof folder?.id === 'number' && typeof folder.path === 'string' ? { id: folder.id, path: folder.path } : null;
  } catch {
    return null;
  }
}

export function webhookDeliveryOf(i: OutboxItem): WebhookDelivery {
  const state = stateOf(i);
  const folder = folderOf(i.payload);
  return {
    id: i.id,
    kind: i.kind,
    url: i.url,
    state,
    attempts: i.attempts,
    createdAt: iso(i.createdAt)!,
    deliveredAt: iso(i.deliveredAt),
    nextAttemptAt: state === 'owed' ? iso(Math.max(i.availableAt, i.createdAt)) : null,
    lastError: i.lastError,
    folderId: folder?.id ?? null,
    folderPath: folder?.path ?? null,
  };
}

/** Every event, oldest first; `owedOnly`: only those not delivered yet and not given up (`hoist webhooks --owed`). */
export function webhookDeliveries(items: readonly OutboxItem[], owedOnly = false): WebhookDelivery[] {
  return items.map(webhookDeliveryOf).filter((d) => !owedOnly || d.state === 'owed');
}
