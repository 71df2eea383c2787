// Whether the host works the queue or waits for the runner lease another Hoist holds, for the
// banner that says where uploads, watched folders and clean-ups run meanwhile.
import type { HoistApi, RunnerState } from '../../shared/contract.js';

export class RunnerManager {
  #state = $state<RunnerState>({ state: 'working' });

  constructor(private readonly api: Pick<HoistApi, 'runnerState' | 'onRunnerChanged'>) {}

  get state(): RunnerState {
    return this.#state;
  }

  /** The other process's pid and host while this one waits; null otherwise. */
  get waiting(): { pid: number; host: string } | null {
    const s = this.#state;
    return s.state === 'waiting' ? { pid: s.pid, host: s.host } : null;
  }

  async refresh(): Promise<void> {
    try {
      this.#state = await this.api.runnerState();
    } catch {
      // A host that cannot say (the link is down): the connection banner speaks for it.
    }
  }

  watch(): () => void {
    return this.api.onRunnerChanged((s) => (this.#state = s));
  }
}
