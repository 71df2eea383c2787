import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { cRuntimeOf, directAddonPath, loadCrtChecksums } from '../../src-main/engine/upload/crt-checksums.js';

const CHECK = Buffer.from('123456789');
/** The CRC32C and CRC32 of "123456789" (the catalogue's check values). */
const CRC32C_CHECK = 0xe3069283;
const CRC32_CHECK = 0xcbf43926;

/**
 * A fresh thread (its own module cache, as a part worker's) computes a CRC32C through checksums.ts and
 * counts the child processes spawned meanwhile: aws-crt's own loader runs `ldd --version` in each.
 */
function crc32cInFreshThread(): Promise<{ crc: number; spawns: string[] }> {
  const checksums = new URL('../../src-main/engine/upload/checksums.js', import.meta.url).href;
  const code = `
    const cp = require('node:child_process');
    const spawns = [];
    const spawnSync = cp.spawnSync;
    cp.spawnSync = (file, ...rest) => (spawns.push(String(file)), spawnSync(file, ...rest));
    import(${JSON.stringify(checksums)}).then(({ createChecksummer }) => {
      const c = createChecksummer('crc32c');
      c.update(Buffer.from('123456789'));
      require('node:worker_threads').parentPort.postMessage({ crc: c.digest().readUInt32BE(0), spawns });
    });`;
  const w = new Worker(code, { eval: true });
  return new Promise((resolve, reject) => {
    w.once('message', (m: { crc: number; spawns: string[] }) => void w.terminate().then(() => resolve(m)));
    w.once('error', reject);
  });
}

test('on Linux with glibc a thread loads the CRC32C addon without starting a process', { skip: cRuntimeOf(process.platform) !== 'glibc' && 'not a glibc Linux' }, async () => {
  const { crc, spawns } = await crc32cInFreshThread();
  assert.equal(crc, CRC32C_CHECK);
  assert.deepEqual(spawns, []);
  assert.equal(loadCrtChecksums().load, 'direct');
});

test('where the C runtime cannot be told, aws-crt loader picks the build, and the checksums are the same', () => {
  const unreadable = () => {
    throw new Error('ENOENT');
  };
  assert.equal(directAddonPath('linux', 'x64', unreadable), null);
  assert.equal(directAddonPath('linux', 'x64', () => '#!/bin/sh\necho something else\n'), null);
  assert.equal(directAddonPath('linux', 'x64-unknown-arch' as NodeJS.Architecture, () => 'GNU C Library'), null);
  const viaLoader = loadCrtChecksums(null);
  assert.equal(viaLoader.load, 'loader');
  const direct = loadCrtChecksums();
  for (const { checksums } of [viaLoader, direct]) {
    assert.equal(checksums.crc32c(CHECK), CRC32C_CHECK);
    assert.equal(checksums.crc32(CHECK), CRC32_CHECK);
    // Carried over from a previous call, as the part hashers feed 1 MiB chunks.
    assert.equal(checksums.crc32c(CHECK.subarray(4), checksums.crc32c(CHECK.subarray(0, 4))), CRC32C_CHECK);
  }
  assert.deepEqual(Buffer.from(direct.checksums.crc64nvme(CHECK).buffer), Buffer.from(viaLoader.checksums.crc64nvme(CHECK).buffer));
});

test('the C runtime is read from ldd as aws-crt reads it: musl named anywhere wins', () => {
  assert.equal(cRuntimeOf('linux', () => 'ldd (GNU libc) 2.36\nGNU C Library'), 'glibc');
  assert.equal(cRuntimeOf('linux', () => '\x7fELF ... musl libc (x86_64)'), 'musl');
  assert.equal(cRuntimeOf('darwin'), 'cruntime');
  assert.equal(cRuntimeOf('freebsd'), null);
});
