// A first run (issue 14): what the host offers for a first destination (setupInfo), the connection
// test on settings not yet saved, and "Use a local test server".
import type { HoistApi } from '../../shared/contract.js';
import type { SetupInfo } from '../../shared/setup.js';
import type { ConnectionCheck, Credentials, Destination, DestinationInput } from '../../shared/types.js';
import { attempt, type Outcome } from './notices.svelte.js';

export class SetupManager {
  #info = $state.raw<SetupInfo | null>(null);

  constructor(private readonly api: HoistApi) {}

  /** Null until the host answered. */
  get info(): SetupInfo | null {
    return this.#info;
  }

  async load(): Promise<void> {
    const out = await attempt('setupInfo', () => this.api.setupInfo());
    this.#info = out.ok ? out.value : { localTestServer: false, keychain: false, profiles: [] };
  }

  testDraft(input: DestinationInput, credentials?: Credentials): Promise<Outcome<ConnectionCheck[]>> {
    return attempt('testDraftDestination', () => this.api.testDraftDestination(input, credentials));
  }

  useLocalTestServer(): Promise<Outcome<Destination>> {
    return attempt('useLocalTestServer', () => this.api.useLocalTestServer());
  }
}

/** Whether a test says the destination works: every permission and check granted. */
export function testPassed(checks: readonly ConnectionCheck[]): boolean {
  return checks.length > 0 && checks.every((c) => c.ok);
}

/** The one reason when every check failed for it (no credentials, no such bucket, unreachable, TLS), else null. */
export function sharedFailure(checks: readonly ConnectionCheck[]): ConnectionCheck | null {
  const first = checks[0];
  if (!first || first.ok) return null;
  return checks.every((c) => !c.ok && c.code === first.code) ? first : null;
}
