// `hoist logs`: where the log file is (what a user sends with a problem report), and with
// --follow what is written to it, as `tail -f` shows it.
import fs from 'node:fs';
import type { Command } from 'commander';
import { logFilePath } from '../engine/log-file.js';
import { EXIT_INTERRUPTED } from './exit-codes.js';
import { printJson } from './output.js';
import { dbPathOf, type Globals } from './with-hoist.js';

/** How much of the file's end `--follow` shows before the new lines. */
const TAIL_LINES = 10;
const TAIL_BYTES = 64 * 1024;
const FOLLOW_EVERY_MS = 500;

/** The last `lines` lines of a file's end, read from `fromStart` its first byte or else from within (a partial first line is left out). */
export function lastLines(text: string, lines: number, fromStart: boolean): string {
  if (lines <= 0) return '';
  const all = text.split('\n');
  if (!fromStart) all.shift();
  const endsWithNewline = all.at(-1) === '';
  if (endsWithNewline) all.pop();
  return all.slice(-lines).join('\n') + (endsWithNewline && all.length > 0 ? '\n' : '');
}

/**
 * Reads what was appended to a file since the last call. A file that shrank or was replaced (the
 * log rotated) is read again from its start; a missing file reads as nothing until it appears.
 */
export class FileFollower {
  private offset = 0;
  private ino = -1;

  constructor(private readonly file: string) {}

  /** Starts at the end of the file as it is now; returns its last lines. */
  startAtEnd(lines = TAIL_LINES): string {
    const st = statOrNull(this.file);
    if (!st) return '';
    this.ino = st.ino;
    this.offset = st.size;
    const from = Math.max(0, st.size - TAIL_BYTES);
    return lastLines(this.read(from, st.size), lines, from === 0);
  }

  /** What was written since the last call. */
  next(): string {
    const st = statOrNull(this.file);
    if (!st) return '';
    if (st.ino !== this.ino || st.size < this.offset) {
      this.ino = st.ino;
      this.offset = 0;
    }
    if (st.size === this.offset) return '';
    const text = this.read(this.offset, st.size);
    this.offset = st.size;
    return text;
  }

  private read(from: number, to: number): string {
    const fd = fs.openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(to - from);
      const n = fs.readSync(fd, buf, 0, buf.length, from);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

export function registerLogsCommand(program: Command, globals: Globals): void {
  program
    .command('logs')
    .description("print the log file's path (hoist.log beside the job database); --follow prints what is written to it")
    .option('--follow', 'print the last lines, then each new one as it is written, until Ctrl-C')
    .option('--json', 'print { logFile, exists } as JSON')
    .action(async (o: { follow?: boolean; json?: boolean }) => {
      // No engine: the log is what a person reads when the database will not open.
      const file = logFilePath(dbPathOf(globals()));
      if (o.json) printJson({ logFile: file, exists: fs.existsSync(file) });
      else if (!o.follow) process.stdout.write(file + '\n');
      if (!o.follow) return;
      process.once('SIGINT', () => process.exit(EXIT_INTERRUPTED));
      process.once('SIGTERM', () => process.exit(EXIT_INTERRUPTED));
      const follower = new FileFollower(file);
      const start = follower.startAtEnd();
      if (start) process.stdout.write(start.endsWith('\n') ? start : start + '\n');
      for (;;) {
        await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
        const text = follower.next();
        if (text) process.stdout.write(text);
      }
    });
}
