// Credentials saved in the app, encrypted with the OS keychain through safeStorage (Keychain on
// macOS, DPAPI on Windows, the Secret Service or KWallet on Linux). The file holds only ciphertext;
// when no real keychain is available (Linux falls back to a fixed key), saving is refused.
import fs from 'node:fs';
import path from 'node:path';
import type { SafeStorage } from 'electron';
import { HoistError } from '../../../shared/errors.js';
import type { Credentials } from '../../../shared/types.js';
import type { SecretStore } from '../../engine/secrets.js';

type Sealed = Record<string, string>;

/** The part of Electron's safeStorage used here (passed in, so this module runs without Electron in tests). */
export type Sealer = Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'>;

export class SafeStorageSecretStore implements SecretStore {
  private sealed: Sealed | null = null;
  /** Decrypted on first use per destination; kept only in this process's memory. */
  private readonly opened = new Map<number, Credentials>();

  constructor(
    private readonly file: string,
    private readonly safeStorage: Sealer,
  ) {}

  async get(destinationId: number): Promise<Credentials | null> {
    const hit = this.opened.get(destinationId);
    if (hit) return hit;
    const blob = (await this.read())[String(destinationId)];
    if (!blob) return null;
    if (!this.safeStorage.isEncryptionAvailable()) {
      throw new HoistError('auth.no-credentials', { message: 'The saved credentials cannot be decrypted: the system keychain is not available. Unlock it, or save the credentials again.' });
    }
    const credentials = JSON.parse(this.safeStorage.decryptString(Buffer.from(blob, 'base64'))) as Credentials;
    this.opened.set(destinationId, credentials);
    return credentials;
  }

  /** Whether credentials are sealed for this destination (without opening them: no keychain prompt). */
  async has(destinationId: number): Promise<boolean> {
    return String(destinationId) in (await this.read());
  }

  async set(destinationId: number, credentials: Credentials): Promise<void> {
    this.requireKeychain();
    const sealed = { ...(await this.read()), [String(destinationId)]: this.safeStorage.encryptString(JSON.stringify(credentials)).toString('base64') };
    await this.write(sealed);
    this.opened.set(destinationId, credentials);
  }

  async delete(destinationId: number): Promise<void> {
    const sealed = { ...(await this.read()) };
    this.opened.delete(destinationId);
    if (!(String(destinationId) in sealed)) return;
    delete sealed[String(destinationId)];
    await this.write(sealed);
  }

  /** Whether a real keychain can seal keys here (Linux's fixed-key fallback does not count). */
  canSeal(): boolean {
    const weak = process.platform === 'linux' && this.safeStorage.getSelectedStorageBackend() === 'basic_text';
    return this.safeStorage.isEncryptionAvailable() && !weak;
  }

  private requireKeychain(): void {
    if (!this.canSeal()) {
      throw new HoistError('config.invalid', {
        message: 'No system keychain is available to encrypt credentials, so Hoist will not store them. Use an AWS profile (~/.aws) and name it in the destination.',
      });
    }
  }

  private async read(): Promise<Sealed> {
    if (this.sealed) return this.sealed;
    try {
      this.sealed = JSON.parse(await fs.promises.readFile(this.file, 'utf8')) as Sealed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.sealed = {};
    }
    return this.sealed;
  }

  /** Written whole to a private file, then renamed over the old one: never half a file. */
  private async write(sealed: Sealed): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await fs.promises.writeFile(temporary, JSON.stringify(sealed, null, 2), { mode: 0o600 });
    await fs.promises.rename(temporary, this.file);
    this.sealed = sealed;
  }
}
