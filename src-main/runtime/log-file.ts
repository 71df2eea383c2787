// Where the log lines of a process go (issue 11): JSON lines (pino) in a file that rotates by size
// (rotating-file-stream: hoist.log, then hoist.log.1 … hoist.log.4), in the application-data folder
// next to the database, so a packaged desktop app writes something a user can send. The CLI (and,
// by default, every process) still sees warnings and errors on stderr, as process.emitWarning did.
// Which file: logFilePath in engine/log-file.ts, the one path function the CLI uses too.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { createStream } from 'rotating-file-stream';
import { currentLogSink, onLogLevel, setLogSink, stderrSink, type LogLevel, type LogSink } from '../engine/log.js';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
/** Size at which the file rotates, and how many rotated files are kept beside it. */
const ROTATE_SIZE = '10M';
const ROTATED_KEPT = 4;

/** HOIST_LOG_LEVEL, when it names a level; else the given default. */
export function logLevelFrom(env: NodeJS.ProcessEnv = process.env, fallback: LogLevel = 'info'): LogLevel {
  const v = env.HOIST_LOG_LEVEL?.toLowerCase();
  return LOG_LEVELS.includes(v as LogLevel) ? (v as LogLevel) : fallback;
}

export interface LogFileOptions {
  file: string;
  /** Lines below this level are dropped (default: HOIST_LOG_LEVEL, else info). */
  level?: LogLevel;
  /** Warnings and errors also on stderr (default true). */
  echo?: boolean;
}

export interface LogFile {
  readonly path: string;
  /** Puts back the sink found at install and flushes the file. */
  close(): Promise<void>;
}

/** Sends every logger's lines (engine/log.ts) to the rotating file, from now until close(). */
export function installLogFile(o: LogFileOptions): LogFile {
  fs.mkdirSync(path.dirname(o.file), { recursive: true });
  const stream = createStream(path.basename(o.file), { path: path.dirname(o.file), size: ROTATE_SIZE, rotate: ROTATED_KEPT, mode: 0o600 });
  const echo = o.echo ?? true;
  let broken = false;
  stream.on('error', (err) => {
    // A full or read-only disk: lines go to stderr only; the program itself goes on.
    if (!broken) process.stderr.write(`hoist log: cannot write ${o.file}: ${err.message}\n`);
    broken = true;
  });
  const out = pino({ level: o.level ?? logLevelFrom(), base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  const sink: LogSink = (level, area, msg, fields) => {
    if (!broken) out[level]({ area, ...fields }, msg);
    if (echo || broken) stderrSink(level, area, msg, fields);
  };
  const before = setLogSink(sink);
  const stopLevel = onLogLevel((level) => (out.level = level));
  let closing: Promise<void> | null = null;
  return {
    path: o.file,
    close: () =>
      (closing ??= (async () => {
        stopLevel();
        if (currentLogSink() === sink) setLogSink(before);
        if (broken) return void stream.destroy();
        await new Promise<void>((resolve) => stream.end(() => resolve()));
      })()),
  };
}
