// aws-crt's native checksums (CRC32C, CRC64NVME) without its loader's child process. The loader
// (aws-crt/dist/native/binding.js) runs `spawnSync('ldd', ['--version'])` on every load, in every
// thread, to tell glibc from musl, then requires the prebuilt addon under dist/bin/PLATFORM-ARCH-LIBC.
// Where the platform is known (Linux with glibc's ldd, macOS, Windows) this requires that same file
// directly; anywhere else, or where the file is missing, it falls back to aws-crt's loader.
// Measured 2026-12-05 in a fresh worker thread (docs/performance.md, "Before the first byte"): the
// spawn is a bash process running glibc's ldd script, 30-120 ms of wall per thread under load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCjs } from '../cjs.js';

export type CrtChecksums = Pick<typeof import('aws-crt/dist/native/checksums.js'), 'crc32' | 'crc32c' | 'crc64nvme'>;

/** The addon's functions that aws-crt's checksums.js wraps (each called with the same arguments). */
interface CrtBinding {
  checksums_crc32: CrtChecksums['crc32'];
  checksums_crc32c: CrtChecksums['crc32c'];
  checksums_crc64nvme: CrtChecksums['crc64nvme'];
}

/** How the checksums were loaded: the addon required directly, or through aws-crt's own loader. */
export type CrtLoad = 'direct' | 'loader';

/**
 * The C runtime as aws-crt names its builds, without running a process: glibc's `ldd` is a shell
 * script naming "GNU C Library", musl's is the musl loader itself (the test detect-libc makes too).
 * Null where it cannot tell: aws-crt's loader decides.
 */
export function cRuntimeOf(platform: NodeJS.Platform, readLdd: () => string = () => fs.readFileSync('/usr/bin/ldd', 'latin1')): 'glibc' | 'musl' | 'cruntime' | null {
  if (platform !== 'linux') return platform === 'darwin' || platform === 'win32' ? 'cruntime' : null;
  let text: string;
  try {
    text = readLdd();
  } catch {
    return null;
  }
  if (text.includes('musl')) return 'musl';
  return text.includes('GNU C Library') ? 'glibc' : null;
}

/** The prebuilt addon aws-crt's loader would pick here, or null if it cannot be named for sure (or is not there). */
export function directAddonPath(platform = os.platform(), arch = os.arch(), readLdd?: () => string): string | null {
  // Under Electron the loader also hooks the process's exit for the CRT's event loop: its way, then.
  if (process.versions.electron !== undefined) return null;
  const runtime = cRuntimeOf(platform, readLdd);
  if (runtime === null) return null;
  const dist = path.dirname(path.dirname(requireCjs.resolve('aws-crt/dist/native/checksums.js')));
  const file = path.join(dist, 'bin', `${platform}-${arch}-${runtime}`, 'aws-crt-nodejs.node');
  return fs.existsSync(file) ? file : null;
}

/** Loads the checksums, directly where `addon` names the file, else through aws-crt's loader. */
export function loadCrtChecksums(addon: string | null = directAddonPath()): { checksums: CrtChecksums; load: CrtLoad } {
  if (addon === null) return { checksums: requireCjs('aws-crt/dist/native/checksums.js') as CrtChecksums, load: 'loader' };
  // The same absolute path the loader requires: one module (and one dlopen) if anything loads aws-crt later.
  const b = requireCjs(addon) as CrtBinding;
  return {
    load: 'direct',
    checksums: { crc32: (d, p) => b.checksums_crc32(d, p), crc32c: (d, p) => b.checksums_crc32c(d, p), crc64nvme: (d, p) => b.checksums_crc64nvme(d, p) },
  };
}
