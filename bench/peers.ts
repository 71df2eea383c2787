// The clients a media team would pick instead of Hoist, each as the command line that runs it at its
// defaults: Hoist's engine and @aws-sdk/lib-storage (bench/run-variant.ts in a Node process of its
// own), aws-cli (`aws s3 cp`), rclone (`rclone copy`). Each is measured as a process tree.
import path from 'node:path';
import { installed } from './measured-process.js';
import type { VariantRequest } from './run-variant.js';

export type PeerId = 'hoist' | 'lib-storage' | 'aws-cli' | 'rclone';
export const PEER_IDS: readonly PeerId[] = ['hoist', 'lib-storage', 'aws-cli', 'rclone'];

export interface Peer {
  id: PeerId;
  /** Shown in tables: for Hoist with an integrity mode, the mode too. */
  label: string;
  /** Hoist only: the destination's integrity mode (issue 12). */
  integrity?: string;
  /** Hoist only: settings other than the engine's defaults, for choosing the defaults by measurement. */
  settings?: HoistSettings;
}

/** A Hoist variant's settings (`--hoist-settings part=32MiB:inflight=8:integrity=md5`); absent: the default. */
export interface HoistSettings {
  partSize?: number;
  concurrency?: number;
  singlePutThreshold?: number;
  workers?: number;
}

export interface PeerTarget {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  workDir: string;
}

/** What one peer is asked to upload: a file to `prefix/NAME`, or a folder's files under `prefix/`. */
export interface PeerSource {
  path: string;
  isFolder: boolean;
  bytes: number;
  prefix: string;
}

export function peerLabel(id: PeerId, integrity?: string, settings?: HoistSettings): string {
  switch (id) {
    case 'hoist': {
      if (!settings) return integrity ? `Hoist, integrity ${integrity}` : 'Hoist, defaults';
      const mib = (n: number) => `${n / 2 ** 20}M`;
      const parts = [
        settings.partSize !== undefined || settings.concurrency !== undefined ? `${settings.partSize === undefined ? 'def' : mib(settings.partSize)}x${settings.concurrency ?? 'def'}` : '',
        settings.singlePutThreshold !== undefined ? `put<${mib(settings.singlePutThreshold)}` : '',
        settings.workers !== undefined ? `${settings.workers}thr` : '',
        integrity ?? 'auto',
      ];
      return `Hoist ${parts.filter(Boolean).join(' ')}`;
    }
    case 'lib-storage':
      return 'lib-storage, defaults';
    case 'aws-cli':
      return 'aws-cli (aws s3 cp)';
    case 'rclone':
      return 'rclone';
  }
}

/** Null when the peer can run here, else why it is skipped. */
export function unavailable(id: PeerId): string | null {
  if (id === 'aws-cli' && !installed('aws')) return 'aws-cli is not installed (no `aws` on PATH)';
  if (id === 'rclone' && !installed('rclone')) return 'rclone is not installed (no `rclone` on PATH)';
  return null;
}

/** The environment every peer starts from: no AWS or rclone settings of this machine, only the target's. */
function cleanEnv(t: PeerTarget): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|RCLONE_)/.test(k)) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: t.accessKeyId,
    AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    // No ~/.aws of this machine: each client's own defaults.
    AWS_CONFIG_FILE: path.join(t.workDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(t.workDir, 'no-aws-credentials'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
}

export interface PeerCommand {
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Node variants write what they measured inside (wall from the first request, UploadPart count) here. */
  resultFile?: string;
}

export function peerCommand(peer: Peer, source: PeerSource, t: PeerTarget, run: string): PeerCommand {
  const env = cleanEnv(t);
  const objectKey = source.isFolder ? source.prefix : `${source.prefix}/${path.basename(source.path)}`;
  switch (peer.id) {
    case 'hoist':
    case 'lib-storage': {
      const resultFile = path.join(t.workDir, `${run}.result.json`);
      const request: VariantRequest = {
        variant: peer.id === 'hoist' ? 'hoist' : 'lib-storage-defaults',
        file: source.path,
        size: source.bytes,
        endpoint: t.endpoint,
        bucket: t.bucket,
        key: objectKey,
        // Unused at defaults; the report shows what each used.
        partSize: 0,
        concurrency: 0,
        workDir: t.workDir,
        engineDefaults: true,
        sdkChecksums: true,
        resultFile,
        ...(peer.integrity ? { integrity: peer.integrity } : {}),
        ...(peer.settings ? { settings: peer.settings } : {}),
      };
      return { argv: [process.execPath, new URL('./run-variant.js', import.meta.url).pathname, JSON.stringify(request)], env, resultFile };
    }
    case 'aws-cli':
      // Its defaults: 8 MiB parts, 10 requests at once, CRC32 on every part (botocore >= 1.36).
      return {
        argv: ['aws', 's3', 'cp', source.path, `s3://${t.bucket}/${objectKey}${source.isFolder ? '/' : ''}`, '--endpoint-url', t.endpoint, ...(source.isFolder ? ['--recursive'] : [])],
        env,
      };
    case 'rclone':
      // Its defaults otherwise: 4 transfers, 5 MiB chunks above a 200 MiB cutoff, Content-MD5 on each request.
      return {
        argv: ['rclone', source.isFolder ? 'copy' : 'copyto', source.path, `bench:${t.bucket}/${objectKey}`],
        env: {
          ...env,
          RCLONE_CONFIG: path.join(t.workDir, 'no-rclone.conf'),
          RCLONE_CONFIG_BENCH_TYPE: 's3',
          RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
          RCLONE_CONFIG_BENCH_ENDPOINT: t.endpoint,
          RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
          RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: t.accessKeyId,
          RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: t.secretAccessKey,
          RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
        },
      };
  }
}
