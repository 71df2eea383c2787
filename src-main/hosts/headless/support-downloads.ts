// What the headless host offers to download, behind its token like everything it serves (a browser
// sends the HttpOnly cookie with the link): the log file, as it is ("Reveal log file" where the
// shell cannot reveal it), and a diagnostics file made at the moment of the click.
import fs from 'node:fs';
import type http from 'node:http';
import { SUPPORT_DIAGNOSTICS_PATH, SUPPORT_LOG_PATH } from '../../../shared/records.js';
import type { SecretStore } from '../../engine/secrets.js';
import { diagnosticsArchive, type DiagnosticsEngine } from '../../engine/support/diagnostics.js';

export interface Download {
  fileName: string;
  contentType: string;
  data: Buffer;
}

/** Path on the host's origin → what it answers. */
export type HostDownloads = Readonly<Record<string, () => Promise<Download | null>>>;

/** `secrets`: the host's saved credentials, if it keeps any, so their values are taken out too. */
export function supportDownloads(engine: DiagnosticsEngine, o: { logFile: string; host?: string; secrets?: SecretStore }): HostDownloads {
  return {
    [SUPPORT_LOG_PATH]: async () => (fs.existsSync(o.logFile) ? { fileName: 'hoist.log', contentType: 'text/plain; charset=utf-8', data: await fs.promises.readFile(o.logFile) } : null),
    [SUPPORT_DIAGNOSTICS_PATH]: async () => {
      const archive = await diagnosticsArchive(engine, { logFile: o.logFile, host: o.host ?? 'serve', ...(o.secrets ? { secrets: o.secrets } : {}) });
      return { fileName: archive.fileName, contentType: 'application/gzip', data: archive.data };
    },
  };
}

/** Answers a download (null: there is nothing to download yet). */
export function sendDownload(res: http.ServerResponse, head: boolean, d: Download | null): void {
  if (d === null) {
    const text = 'Nothing is there yet: the log file is made when Hoist first writes to it.';
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    return void res.end(text);
  }
  res.writeHead(200, {
    'Content-Type': d.contentType,
    'Content-Length': d.data.length,
    'Content-Disposition': `attachment; filename="${d.fileName.replace(/[^\w.-]/g, '_')}"`,
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : d.data);
}
