// Credentials kept in memory, as a host's encrypted store (the desktop app's keychain) would hand them over.
import type { Credentials } from '../../shared/types.js';
import type { SecretStore } from '../../src-main/engine/secrets.js';

export class MemorySecrets implements SecretStore {
  readonly saved = new Map<number, Credentials>();
  async get(id: number) {
    return this.saved.get(id) ?? null;
  }
  async set(id: number, credentials: Credentials) {
    this.saved.set(id, credentials);
  }
  async delete(id: number) {
    this.saved.delete(id);
  }
}
