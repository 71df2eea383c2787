// A first run (issue 14): when a host may offer "Use a local test server" (a checkout with the
// script, every program it needs installed, never the packaged app), that nothing else can make
// it start a script, and that the server's keys go only to the destination it was added as.
// The start and stop through the real script are in test/s3/e2e-first-run.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HoistError } from '../../shared/errors.js';
import type { Credentials, Destination } from '../../shared/types.js';
import type { SecretStore } from '../../src-main/engine/secrets.js';
import { LocalServerRecord, LocalServerSecrets } from '../../src-main/engine/setup/local-credentials.js';
import { LOCAL_SERVER_PROGRAMS, localServerScript, parseExports } from '../../src-main/engine/setup/local-server.js';
import { NOT_OFFERED, SetupService, firstRunWiring, type SetupEngine } from '../../src-main/engine/setup/setup-service.js';
import { tempDir } from '../support/s3.js';

/** A checkout's layout (the scripts and package.json) and a bin folder with the programs, each optional. */
function fakeMachine(o: { script?: boolean; missing?: string } = {}): { root: string; pathEnv: string } {
  const dir = tempDir('first-run-unit');
  const root = path.join(dir, 'checkout');
  fs.mkdirSync(path.join(root, 'scripts', 'radosgw'), { recursive: true });
  fs.writeFileSync(path.join(root, 'package.json'), '{"name":"hoist"}');
  if (o.script ?? true) fs.writeFileSync(path.join(root, 'scripts', 's3-server.sh'), '#!/bin/sh\nexit 1\n');
  fs.writeFileSync(path.join(root, 'scripts', 'radosgw', 'radosgw-up.sh'), '#!/bin/sh\nexit 1\n');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const p of LOCAL_SERVER_PROGRAMS) {
    if (p === o.missing) continue;
    fs.writeFileSync(path.join(bin, p), '#!/bin/sh\n', { mode: 0o755 });
  }
  return { root, pathEnv: `/nonexistent${path.delimiter}${bin}` };
}

test('the local test server is offered only from a checkout with the script and every program it needs, never packaged', () => {
  const m = fakeMachine();
  assert.equal(localServerScript({ packaged: false, ...m }), path.join(m.root, 'scripts', 's3-server.sh'));
  assert.equal(localServerScript({ packaged: true, ...m }), null, 'the packaged app never offers it');
  assert.equal(localServerScript({ packaged: false, ...fakeMachine({ script: false }) }), null, 'no script: not a checkout');
  assert.equal(localServerScript({ packaged: false, ...fakeMachine({ missing: 'radosgw' }) }), null, 'radosgw not installed');
  assert.equal(localServerScript({ packaged: false, ...fakeMachine({ missing: 'ceph-osd' }) }), null, 'a Ceph daemon not installed');
  // A program that is there but cannot be run does not count.
  const m2 = fakeMachine();
  fs.chmodSync(path.join(m2.pathEnv.split(path.delimiter)[1]!, 'radosgw-admin'), 0o644);
  assert.equal(localServerScript({ packaged: false, ...m2 }), null);
});

test('the wiring offers the local server exactly when the capability holds', () => {
  const m = fakeMachine();
  const dbPath = path.join(tempDir('first-run-db'), 'hoist.db');
  const offered = firstRunWiring({ dbPath, packaged: false, ...m }).setup.localServer;
  assert.ok(offered, 'offered from the checkout');
  // Its data lives under the app-data folder, beside the database.
  assert.equal(offered.server.dataDir, path.join(path.dirname(dbPath), 'local-s3'));
  assert.equal(firstRunWiring({ dbPath, packaged: true, ...m }).setup.localServer, undefined);
  assert.equal(firstRunWiring({ dbPath, packaged: false, ...fakeMachine({ missing: 'radosgw' }) }).setup.localServer, undefined);
});

test('the script\'s exports are read as the shell would', () => {
  const env = parseExports("progress\nexport S3_ENDPOINT=http://127.0.0.1:7480\nexport S3_SECRET_ACCESS_KEY=a\\ b\nexport RADOSGW_LOG='/tmp/x y/log'\nnoise=1\n");
  assert.deepEqual(env, { S3_ENDPOINT: 'http://127.0.0.1:7480', S3_SECRET_ACCESS_KEY: 'a b', RADOSGW_LOG: '/tmp/x y/log' });
});

const dest = (id: number, endpoint: string | null): Destination => ({ id, endpoint } as Destination);

test('the server\'s keys go only to the destination it was added as, while it still points at the server; other destinations keep the host\'s store', async () => {
  const dir = tempDir('first-run-secrets');
  const record = new LocalServerRecord(path.join(dir, 'local-s3', 'hoist-destination.json'));
  const saved: Credentials = { accessKeyId: 'AKIAKEYCHAIN', secretAccessKey: 'sealed' };
  const inner: SecretStore = { get: async (id) => (id === 9 ? saved : null), set: async () => undefined, delete: async () => undefined };
  const destinations = new Map<number, Destination>([[3, dest(3, 'http://127.0.0.1:7480')], [9, dest(9, 'https://s3.example.com')]]);
  const secrets = new LocalServerSecrets(record, inner);
  secrets.attach((id) => destinations.get(id));
  assert.equal(await secrets.get(3), null, 'nothing recorded yet');
  record.write({ destinationId: 3, endpoint: 'http://127.0.0.1:7480', accessKeyId: 'testkey', secretAccessKey: 'testsecret' });
  assert.equal(fs.statSync(record.file).mode & 0o777, 0o600);
  assert.deepEqual(await secrets.get(3), { accessKeyId: 'testkey', secretAccessKey: 'testsecret' });
  assert.deepEqual(await secrets.get(9), saved);
  // The destination was removed and its id reused for another endpoint: no test keys for it.
  destinations.set(3, dest(3, 'https://s3.amazonaws.example'));
  assert.equal(await secrets.get(3), null);
  // Without a host store (the headless host), saving keys is refused.
  await assert.rejects(new LocalServerSecrets(record).set(4, saved), (e: unknown) => e instanceof HoistError && e.code === 'config.invalid');
});

test('a host that does not offer the local server refuses it, whatever asks', async () => {
  const engine = { saveDestination: () => assert.fail('nothing is saved'), store: { getDestination: () => undefined, listDestinations: () => [] } } as unknown as SetupEngine;
  const service = new SetupService(engine, {}, false);
  await assert.rejects(service.useLocalTestServer(), (e: unknown) => e instanceof HoistError && e.code === 'config.invalid' && e.message === NOT_OFFERED);
  const info = await service.info();
  assert.equal(info.localTestServer, false);
  assert.equal(info.keychain, false);
});

test('typed keys are offered only where the host can seal them now (a desktop app without a system keychain cannot)', async () => {
  const engine = { saveDestination: () => assert.fail('nothing is saved'), store: { getDestination: () => undefined, listDestinations: () => [] } } as unknown as SetupEngine;
  const dbPath = path.join(tempDir('first-run-seal'), 'hoist.db');
  const store = (sealable: boolean) => ({ get: async () => null, set: async () => undefined, delete: async () => undefined, canSeal: () => sealable });
  const keychainOf = async (sealable: boolean) => (await new SetupService(engine, firstRunWiring({ dbPath, packaged: true, secrets: store(sealable) }).setup, true).info()).keychain;
  assert.equal(await keychainOf(true), true);
  assert.equal(await keychainOf(false), false);
});
