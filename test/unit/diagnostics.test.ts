// "Export diagnostics" / `hoist diagnostics` (issue 14): the file carries the logs, the versions, the
// settings and the last 1,000 job events, and none of the secrets Hoist holds or has seen: a saved
// secret key and session token, the environment's secret key, a folder's webhook signing secret and
// its webhook URL's token, an endpoint URL's password; grepped for in the whole archive, inflated,
// a log line that leaked them included. (Seen failing with the redaction taken out: the endpoint
// password, the signing secret and the saved key were found in diagnostics.json and in logs/hoist.log.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { Engine } from '../../src-main/engine/engine.js';
import { FolderWatcher } from '../../src-main/engine/folders/folder-watcher.js';
import { DIAGNOSTICS_EVENTS, diagnosticsArchive } from '../../src-main/engine/support/diagnostics.js';
import { MemorySecrets } from '../support/memory-secrets.js';
import { tempDir } from '../support/s3.js';

const MiB = 1024 * 1024;
const SAVED_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYsavedSECRET';
const SAVED_SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLEsessionTOKENvalue0123456789';
const ENV_SECRET_KEY = 'envSecretKey/0123456789abcdefEXAMPLEKEY';
const ENDPOINT_PASSWORD = 'endpoint-pa55word-xyz';
const WEBHOOK_TOKEN = 'T000B000XXXXslackPathToken';
const WEBHOOK_QUERY_TOKEN = 'queryTokenValue12345';

/** The regular files of an inflated ustar archive, by name. */
function untar(gz: Buffer): Map<string, string> {
  const tar = zlib.gunzipSync(gz);
  const files = new Map<string, string>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, ''), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    assert.equal(parseInt(h.subarray(148, 156).toString('ascii'), 8), sum, `the header checksum of ${name}`);
    files.set(name, tar.subarray(at + 512, at + 512 + size).toString('utf8'));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

test('a diagnostics file holds the logs, versions, settings and last 1,000 job events, and no secret', async () => {
  const dir = tempDir('diagnostics');
  const engine = new Engine({ dbPath: path.join(dir, 'hoist.db') });
  try {
    const dest = engine.upsertDestination({
      name: 'archive', region: 'us-east-1', prefix: '', pathStyle: true, profile: null, storageClass: null, sse: null, sseKmsKeyId: null,
      endpoint: `http://hoist:${ENDPOINT_PASSWORD}@127.0.0.1:9/`, bucket: 'footage',
      partSize: 8 * MiB, concurrency: 2, singlePutThreshold: 8 * MiB, maxObjectSize: 5 * 2 ** 40, maxParts: 10_000, checksumAlgorithm: null,
    });
    const secrets = new MemorySecrets();
    await secrets.set(dest.id, { accessKeyId: 'AKIAEXAMPLEKEYID', secretAccessKey: SAVED_SECRET_KEY, sessionToken: SAVED_SESSION_TOKEN });

    const watched = path.join(dir, 'Offload');
    fs.mkdirSync(watched);
    const webhookUrl = `https://hooks.example.com/services/${WEBHOOK_TOKEN}?token=${WEBHOOK_QUERY_TOKEN}`;
    const folder = await new FolderWatcher(engine).addFolder({ path: watched, destinationId: dest.id, webhookUrl });
    const signingSecret = engine.webhooks.secrets.current(folder.id);
    assert.match(signingSecret ?? '', /^whsec_/);

    const clip = path.join(dir, 'A001_C003.mov');
    fs.writeFileSync(clip, Buffer.alloc(1024, 7));
    const [job] = await engine.enqueue([clip], { destination: dest });
    // More events than a diagnostics file keeps: the oldest fall out, the last one is there.
    for (let i = 0; i < DIAGNOSTICS_EVENTS + 20; i++) engine.store.addEvent(job!.id, 'note', `event number ${i}`);

    // A log that leaked what it should not have: the file is sent whole, so it is cleaned whole.
    const logFile = path.join(dir, 'hoist.log');
    fs.writeFileSync(logFile, [
      JSON.stringify({ level: 30, msg: `connecting to http://hoist:${ENDPOINT_PASSWORD}@127.0.0.1:9/footage` }),
      JSON.stringify({ level: 40, msg: `POST ${webhookUrl} failed`, secretAccessKey: SAVED_SECRET_KEY }),
      JSON.stringify({ level: 50, msg: `signing with ${signingSecret} and ${SAVED_SESSION_TOKEN}; env key ${ENV_SECRET_KEY}` }),
      JSON.stringify({ level: 30, msg: 'serving http://127.0.0.1:4000/?token=0123456789abcdef0123456789abcdef' }),
      '',
    ].join('\n'));
    fs.writeFileSync(`${logFile}.1`, 'an older rotated line\n');

    const archive = await diagnosticsArchive(engine, {
      logFile,
      secrets,
      host: 'test',
      env: { AWS_SECRET_ACCESS_KEY: ENV_SECRET_KEY, AWS_SESSION_TOKEN: SAVED_SESSION_TOKEN, AWS_REGION: 'eu-west-1', HOIST_DB: path.join(dir, 'hoist.db') },
    });
    assert.match(archive.fileName, /^hoist-diagnostics-.*\.tar\.gz$/);
    const files = untar(archive.data);
    assert.deepEqual([...files.keys()].sort(), ['diagnostics.json', 'job-events.json', 'logs/hoist.log', 'logs/hoist.log.1']);

    const everything = zlib.gunzipSync(archive.data).toString('utf8');
    for (const [what, secret] of Object.entries({
      SAVED_SECRET_KEY, SAVED_SESSION_TOKEN, ENV_SECRET_KEY, ENDPOINT_PASSWORD, WEBHOOK_TOKEN, WEBHOOK_QUERY_TOKEN, signingSecret: signingSecret!,
      hostToken: '0123456789abcdef0123456789abcdef',
    })) {
      assert.ok(!everything.includes(secret), `${what} is in the diagnostics file`);
    }

    const summary = JSON.parse(files.get('diagnostics.json')!);
    assert.equal(summary.versions.node, process.versions.node);
    assert.match(summary.versions.app, /^Hoist \d+\.\d+\.\d+/);
    assert.match(summary.versions.awsSdk, /^3\.\d+\.\d+$/);
    assert.ok(summary.versions.os.platform && summary.versions.sqlite);
    assert.equal(summary.destinations[0].bucket, 'footage');
    assert.equal(summary.destinations[0].endpoint, 'http://hoist:[redacted]@127.0.0.1:9/');
    assert.equal(summary.destinations[0].credentials, 'chain');
    assert.equal(summary.folders[0].path, folder.path);
    assert.equal(summary.folders[0].webhookUrl, 'https://hooks.example.com/…');
    assert.equal(summary.environment.AWS_REGION, 'eu-west-1');
    assert.ok('AWS_SECRET_ACCESS_KEY' in summary.environment, 'named as set, its value out');

    const events = JSON.parse(files.get('job-events.json')!).events as Array<{ jobId: number; message: string; sourcePath: string }>;
    assert.equal(events.length, DIAGNOSTICS_EVENTS);
    assert.equal(events.at(-1)!.message, `event number ${DIAGNOSTICS_EVENTS + 19}`);
    assert.equal(events.at(-1)!.sourcePath, clip);
    assert.ok(events.every((e) => e.jobId === job!.id));

    assert.match(files.get('logs/hoist.log')!, /connecting to http:\/\/hoist:\[redacted\]@127\.0\.0\.1:9\/footage/);
    assert.match(files.get('logs/hoist.log.1')!, /an older rotated line/);
  } finally {
    await engine.close();
  }
});
