// `hoist serve` in one call: the runtime (engine, watcher, API, log file, runner lease) with the
// headless host over its API; closing stops the host first (tabs are told), then the runtime.
import { openRuntime, type HoistRuntime, type RuntimeOptions } from '../../runtime/runtime.js';
import { logFilePath } from '../../engine/log-file.js';
import { startHeadlessHost, type HeadlessHost } from './host.js';
import { supportDownloads } from './support-downloads.js';

export interface ServeOptions extends RuntimeOptions {
  /** The built renderer. */
  staticDir: string;
  port?: number;
  token?: string;
}

export interface ServedRuntime {
  runtime: HoistRuntime;
  host: HeadlessHost;
  close(): Promise<void>;
}

export async function serveRuntime(o: ServeOptions): Promise<ServedRuntime> {
  const { staticDir, port, token, ...runtimeOptions } = o;
  const runtime = await openRuntime(runtimeOptions);
  let host: HeadlessHost;
  try {
    const downloads = supportDownloads(runtime.engine, { logFile: runtime.logPath ?? logFilePath(runtime.dbPath) });
    host = await startHeadlessHost({ api: runtime.api, staticDir, downloads, ...(port !== undefined ? { port } : {}), ...(token !== undefined ? { token } : {}) });
  } catch (err) {
    // The port is taken or refused: nothing stays open behind the error.
    await runtime.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    runtime,
    host,
    close: () =>
      (closing ??= (async () => {
        try {
          await host.close();
        } finally {
          await runtime.close();
        }
      })()),
  };
}
