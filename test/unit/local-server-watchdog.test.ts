// The local test server lives only as long as the host that started it (setup/local-server.ts): a
// host killed with SIGKILL leaves no daemon behind. The checkout's script is stood in for by one
// that starts a single long sleep as its "daemon" and stops it by its pid file, as the real
// script's `up` and `down` do with radosgw's daemons (their start and stop through the real script
// are in test/s3/e2e-first-run.test.ts); what is under test is the host's side: who calls `down`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { until } from '../support/engine.js';
import { tempDir } from '../support/s3.js';

const MODULE = fileURLToPath(new URL('../../src-main/engine/setup/local-server.js', import.meta.url));

const FAKE_SCRIPT = `#!/usr/bin/env bash
case $1 in
  up) mkdir -p "$2/run"; sleep 600 >/dev/null 2>&1 & echo $! >"$2/run/daemon.pid"
      echo "export S3_ENDPOINT=http://127.0.0.1:$3"; echo "export S3_ACCESS_KEY_ID=k"; echo "export S3_SECRET_ACCESS_KEY=s" ;;
  down) kill "$(cat "$2/run/daemon.pid")" ;;
esac
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a host SIGKILLed after starting the local test server leaves no daemon running: the server is stopped for it', async () => {
  const dir = tempDir('local-server-watchdog');
  const script = path.join(dir, 's3-server.sh');
  fs.writeFileSync(script, FAKE_SCRIPT, { mode: 0o755 });
  const data = path.join(dir, 'data');
  const host = spawn(process.execPath, ['--input-type=module', '-e', `const { LocalTestServer } = await import(${JSON.stringify(MODULE)}); await new LocalTestServer(process.argv[1], process.argv[2]).up(); console.log('up'); setInterval(() => {}, 1000);`, script, data], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  host.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await until('the host to start the server', () => out.includes('up'));
  const daemon = Number(fs.readFileSync(path.join(data, 'run', 'daemon.pid'), 'utf8'));
  assert.ok(alive(daemon), 'the server runs while its host does');
  host.kill('SIGKILL');
  await until('the daemon to be stopped once its host is gone', () => !alive(daemon), 20_000);
});
