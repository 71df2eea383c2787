// Destinations (bucket, endpoint, upload settings) and the "Test connection" results per destination.
import type { HoistApi } from '../../shared/contract.js';
import type { ConnectionCheck, Credentials, Destination, DestinationInput } from '../../shared/types.js';
import { attempt, type NoticeManager, type Outcome } from './notices.svelte.js';

export type ConnectionTest = { running: true } | { running: false; checks: ConnectionCheck[]; at: number };

export class DestinationsManager {
  #destinations = $state.raw<Destination[]>([]);
  #loaded = $state(false);
  #tests = $state.raw<Record<number, ConnectionTest>>({});

  constructor(
    private readonly api: HoistApi,
    private readonly notices: NoticeManager,
  ) {}

  get destinations(): Destination[] {
    return this.#destinations;
  }
  get loaded(): boolean {
    return this.#loaded;
  }

  byId(id: number): Destination | undefined {
    return this.#destinations.find((d) => d.id === id);
  }

  testOf(id: number): ConnectionTest | undefined {
    return this.#tests[id];
  }

  async refresh(): Promise<void> {
    const list = await this.notices.run('listDestinations', () => this.api.listDestinations());
    if (list) this.#destinations = list;
    this.#loaded = true;
  }

  async save(input: DestinationInput & { id?: number }, credentials?: Credentials): Promise<Outcome<Destination>> {
    const out = await attempt('saveDestination', () => this.api.saveDestination(input, credentials));
    if (out.ok) {
      this.notices.success(`Saved destination “${out.value.name}”.`);
      // Settings changed: an old test result no longer says anything about them.
      this.#forgetTest(out.value.id);
      await this.refresh();
    }
    return out;
  }

  async remove(d: Destination): Promise<Outcome<void>> {
    const out = await attempt('removeDestination', () => this.api.removeDestination(d.id));
    if (out.ok) {
      this.notices.success(`Removed destination “${d.name}”.`);
      this.#forgetTest(d.id);
      await this.refresh();
    }
    return out;
  }

  async test(id: number): Promise<void> {
    this.#tests = { ...this.#tests, [id]: { running: true } };
    const checks = await this.notices.run('testConnection', () => this.api.testConnection(id));
    if (checks) this.#tests = { ...this.#tests, [id]: { running: false, checks, at: Date.now() } };
    else this.#forgetTest(id);
  }

  #forgetTest(id: number): void {
    const { [id]: _forgotten, ...rest } = this.#tests;
    this.#tests = rest;
  }
}
