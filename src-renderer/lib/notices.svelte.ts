// Messages for the person at the keyboard: failures they can act on, and quiet confirmations.
import type { ErrorInfo } from '../../shared/errors.js';
import { toErrorInfo } from './errors.js';

/** A command's result for dialogs, which show a failure inside themselves (a toast would sit behind the modal). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export async function attempt<T>(operation: string, command: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await command() };
  } catch (err) {
    return { ok: false, error: toErrorInfo(err, operation) };
  }
}

export interface Notice {
  id: number;
  kind: 'error' | 'success';
  text: string;
  error: ErrorInfo | null;
}

/** Confirmations leave by themselves; errors stay until dismissed, so none is missed. */
const SUCCESS_VISIBLE_MS = 4000;
/** A burst of confirmations should not bury the screen: only the latest few stay. */
const MAX_SUCCESSES = 2;
const MAX_ERRORS = 4;

export class NoticeManager {
  #notices = $state.raw<Notice[]>([]);
  #nextId = 1;

  get notices(): Notice[] {
    return this.#notices;
  }

  error(err: unknown, operation?: string): void {
    const info = toErrorInfo(err, operation);
    this.#push({ id: this.#nextId++, kind: 'error', text: info.message, error: info });
  }

  success(text: string): void {
    const id = this.#nextId++;
    this.#push({ id, kind: 'success', text, error: null });
    setTimeout(() => this.dismiss(id), SUCCESS_VISIBLE_MS);
  }

  dismiss(id: number): void {
    this.#notices = this.#notices.filter((n) => n.id !== id);
  }

  /** Runs a command; on failure shows why and returns undefined, so buttons need no try/catch. */
  async run<T>(operation: string, command: () => Promise<T>): Promise<T | undefined> {
    try {
      return await command();
    } catch (err) {
      this.error(err, operation);
      return undefined;
    }
  }

  reset(): void {
    this.#notices = [];
  }

  #push(n: Notice): void {
    const all = [...this.#notices, n];
    const keep = new Set([...all.filter((x) => x.kind === 'error').slice(-MAX_ERRORS), ...all.filter((x) => x.kind === 'success').slice(-MAX_SUCCESSES)]);
    this.#notices = all.filter((x) => keep.has(x));
  }
}
