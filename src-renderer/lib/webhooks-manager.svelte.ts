// "Webhooks": each watched folder's events — delivered, owed (next attempt, last error, attempts),
// given up — with Retry for one or for every one given up: `hoist webhooks [--owed]` and
// `hoist webhooks retry`.
import type { HoistApi } from '../../shared/contract.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { WebhookDelivery, WebhookDeliveryState } from '../../shared/records.js';
import { toErrorInfo } from './errors.js';
import { attempt, type NoticeManager } from './notices.svelte.js';
import { pollWhileShown } from './poll.js';

export interface FolderDeliveries {
  folderId: number | null;
  folderPath: string | null;
  /** Newest first. */
  events: WebhookDelivery[];
}

export class WebhooksManager {
  #events = $state.raw<WebhookDelivery[]>([]);
  #loaded = $state(false);
  #error = $state.raw<ErrorInfo | null>(null);
  #owedOnly = $state(false);
  #working = $state(false);

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
  ) {}

  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): ErrorInfo | null {
    return this.#error;
  }
  get working(): boolean {
    return this.#working;
  }
  get owedOnly(): boolean {
    return this.#owedOnly;
  }
  set owedOnly(v: boolean) {
    this.#owedOnly = v;
    void this.refresh();
  }
  get events(): WebhookDelivery[] {
    return this.#events;
  }
  count(state: WebhookDeliveryState): number {
    return this.#events.filter((e) => e.state === state).length;
  }

  /** The events grouped by the folder they came from, each group newest first. */
  get byFolder(): FolderDeliveries[] {
    const groups = new Map<string, FolderDeliveries>();
    for (const e of [...this.#events].reverse()) {
      const k = String(e.folderId);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { folderId: e.folderId, folderPath: e.folderPath, events: [] }));
      g.events.push(e);
    }
    return [...groups.values()];
  }

  watch(): () => void {
    void this.refresh();
    return pollWhileShown(this.api, () => void this.refresh());
  }

  async refresh(): Promise<void> {
    try {
      this.#events = await this.api.listWebhookDeliveries(this.#owedOnly);
      this.#error = null;
    } catch (err) {
      this.#error = toErrorInfo(err, 'listWebhookDeliveries');
    } finally {
      this.#loaded = true;
    }
  }

  /** Sends these events again now, or with 'given-up' every event given up. */
  async retry(ids: string[] | 'given-up'): Promise<void> {
    this.#working = true;
    const out = await attempt('retryWebhookDeliveries', () => this.api.retryWebhookDeliveries(ids));
    this.#working = false;
    if (out.ok) this.notices.success(`${out.value} webhook event${out.value === 1 ? '' : 's'} queued again.`);
    else this.notices.error(out.error);
    await this.refresh();
  }
}
