// The health of the link to the host, for the status line and for reloading after a reconnection.
import type { ConnectedApi, ConnectionStatus } from './api.js';

export class ConnectionManager {
  #status = $state<ConnectionStatus>({ state: 'open', failures: 0, generation: 1 });

  constructor(private readonly connected: Pick<ConnectedApi, 'onStatus'>) {}

  get state(): ConnectionStatus['state'] {
    return this.#status.state;
  }

  get failures(): number {
    return this.#status.failures;
  }

  /** Changes on every (re)connection: views that depend on it reload what they may have missed. */
  get generation(): number {
    return this.#status.generation;
  }

  watch(): () => void {
    return this.connected.onStatus?.((s) => (this.#status = s)) ?? (() => undefined);
  }
}
