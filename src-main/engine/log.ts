// The one way the engine, the CLI and the hosts report what a person may need later (issue 11).
// Modules take a named logger: `const log = logger('scheduler')`. Where the lines go is decided once
// per process by whoever owns it (the runtime): until then warnings and errors go to stderr, as
// process.emitWarning's did.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Where log lines go: one function, replaced by setLogSink. */
export type LogSink = (level: LogLevel, area: string, msg: string, fields?: LogFields) => void;

/** Warnings and errors on stderr, one line each; the default until a runtime installs its own sink. */
export const stderrSink: LogSink = (level, area, msg) => {
  if (level === 'warn' || level === 'error') process.stderr.write(`hoist ${area}: ${msg}\n`);
};

let sink: LogSink = stderrSink;

/** Sends every logger's lines to `next` (null: back to stderr for warnings and errors); returns the sink it replaced. */
export function setLogSink(next: LogSink | null): LogSink {
  const before = sink;
  sink = next ?? stderrSink;
  return before;
}

/** The sink lines go to now (a runtime that closes puts back the one it found). */
export function currentLogSink(): LogSink {
  return sink;
}

/** A logger for one area of the program; cheap, so modules make theirs at load. */
export function logger(area: string): Logger {
  return {
    debug: (msg, fields) => sink('debug', area, msg, fields),
    info: (msg, fields) => sink('info', area, msg, fields),
    warn: (msg, fields) => sink('warn', area, msg, fields),
    error: (msg, fields) => sink('error', area, msg, fields),
  };
}

const levelListeners = new Set<(level: LogLevel) => void>();

/** Changes the level of the running process's log (the app's settings): the log file follows at once. */
export function setLogLevel(level: LogLevel): void {
  for (const listener of levelListeners) listener(level);
}

/** Called with every later setLogLevel (the log file installs one); returns the removal. */
export function onLogLevel(listener: (level: LogLevel) => void): () => void {
  levelListeners.add(listener);
  return () => levelListeners.delete(listener);
}
