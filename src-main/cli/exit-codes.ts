// The `hoist` command's exit statuses, and how a failure that ends a command is said: a contract
// scripts rely on (docs/cli.md), so it is written down once, here.
import { HoistError } from '../../shared/errors.js';

export const EXIT_OK = 0;
/** A job or generation failed, an S3 or source error stopped the command, an abort is still owed. */
export const EXIT_FAILED = 1;
/** A bad flag, size or setting (`config.invalid`). */
export const EXIT_USAGE = 2;
/** Ctrl-C or SIGTERM: traffic stopped cleanly, `hoist run` resumes. */
export const EXIT_INTERRUPTED = 130;

/** What a command that threw prints on stderr (null: commander has said it already) and its exit status. */
export function failureOf(err: unknown): { status: number; message: string | null } {
  const e = err as { code?: unknown };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    return { status: e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT_OK : EXIT_USAGE, message: null };
  }
  if (err instanceof HoistError) {
    const { code, operation, detail } = err.info;
    return {
      status: code === 'config.invalid' ? EXIT_USAGE : EXIT_FAILED,
      message: `hoist: ${code}${operation ? ` (${operation})` : ''}: ${err.message}${detail ? `\n  server said: ${detail}` : ''}\n`,
    };
  }
  return { status: EXIT_FAILED, message: `hoist: internal.unexpected: ${(err as Error)?.stack ?? String(err)}\n` };
}
