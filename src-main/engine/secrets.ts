// Credentials a host keeps for a destination, encrypted at rest by the host (the Electron shell
// uses the OS keychain through safeStorage). The engine only reads them, per destination,
// before it falls back to the standard AWS chain; it never writes them anywhere itself.
import type { Credentials } from '../../shared/types.js';

export interface SecretStore {
  /** The credentials saved for this destination, or null to use the standard chain. */
  get(destinationId: number): Promise<Credentials | null>;
  /** Throws a HoistError('config.invalid') when this machine cannot encrypt them. */
  set(destinationId: number, credentials: Credentials): Promise<void>;
  delete(destinationId: number): Promise<void>;
}
