// ASC MHL for a watched folder (issue 8), through the real `hoist folders add` and `hoist watch`:
// a batch is what arrived until the folder went idle; a camera card inside the folder that carries
// its own history is a root of its own, whose history continues in the bucket.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Job, WatchedFolder } from '../../shared/types.js';
import { until } from '../support/engine.js';
import { hoist } from '../support/hoist-cli.js';
import { downloadPrefix, schemaErrors, toolHash } from '../support/mhl.js';
import { MiB, s3Env, tempDir, writeRandomFile } from '../support/s3.js';
import { startWatching } from '../support/watch.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket } = await s3Fixture('mhl-watch');

const cli = (dir: string) => ['--db', path.join(dir, 'hoist.db'), '--endpoint', s3Env().endpoint, '--path-style'];
const env = { HOIST_BATCH_SETTLE_MS: '300' };
const el = (name: string) => `*[local-name()='${name}']`;
const xpath = (file: string, expr: string) => execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();

function manifestsIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.mhl')).sort().map((n) => path.join(dir, n));
}

test('a watched folder with --mhl: one generation per root for what arrived, the card keeps its own history, the next batch adds the next generation', async () => {
  const dir = tempDir('mhl-watch');
  const watched = path.join(dir, 'ingest');
  const card = path.join(watched, 'A004R2EC');
  fs.mkdirSync(path.join(card, 'Clips'), { recursive: true });
  const clip = await writeRandomFile(path.join(card, 'Clips', 'A004C001.mov'), 6 * MiB);
  await writeRandomFile(path.join(watched, 'loose.mov'), 64 * 1024);
  // The card's history as the offload tool left it.
  fs.mkdirSync(path.join(card, 'ascmhl'));
  const source = path.join(card, 'ascmhl', '0001_A004R2EC_2024-05-01_101500Z.mhl');
  fs.writeFileSync(
    source,
    `<?xml version="1.0" encoding="UTF-8"?>\n<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0"><creatorinfo><creationdate>2024-05-01T10:15:00Z</creationdate><hostname>cart</hostname><tool version="1">offload</tool></creatorinfo><processinfo><process>transfer</process></processinfo><hashes><hash><path size="${6 * MiB}">Clips/A004C001.mov</path><xxh64 action="original">${toolHash('xxhsum', ['-H1', clip])}</xxh64></hash></hashes></hashlist>\n`,
  );

  const added = await hoist([...cli(dir), 'folders', 'add', watched, '--bucket', bucket, '--prefix', 'shoot', '--stable-for', '300ms', '--hash', 'xxh64,xxh128', '--mhl', '--json']);
  assert.equal(added.code, 0, added.stderr);
  const { folder } = JSON.parse(added.stdout) as { folder: WatchedFolder };
  assert.deepEqual([folder.hashAlgorithms, folder.mhl], [['xxh64', 'xxh128'], true]);
  assert.match((await hoist([...cli(dir), 'folders', 'list'])).stdout, /hashes xxh64,xxh128; ASC MHL/);

  const once = await hoist([...cli(dir), 'watch', '--once'], env);
  assert.equal(once.code, 0, once.stderr);
  const jobs = (JSON.parse((await hoist([...cli(dir), 'jobs', '--json'])).stdout) as { jobs: Job[] }).jobs;
  assert.deepEqual(jobs.map((j) => j.key).sort(), ['shoot/A004R2EC/Clips/A004C001.mov', 'shoot/loose.mov'], 'the history is no upload of its own');
  assert.ok(jobs.every((j) => j.state === 'done' && j.hashes.xxh128 !== undefined));

  const got = path.join(dir, 'download-1');
  const keys = await downloadPrefix(client, bucket, 'shoot/', got);
  const cardManifests = manifestsIn(path.join(got, 'A004R2EC', 'ascmhl'));
  const rootManifests = manifestsIn(path.join(got, 'ascmhl'));
  assert.deepEqual(cardManifests.map((m) => path.basename(m).slice(0, 14)), ['0001_A004R2EC_', '0002_A004R2EC_']);
  assert.deepEqual(rootManifests.map((m) => path.basename(m).slice(0, 12)), ['0001_ingest_']);
  assert.equal(keys.filter((k) => k.includes('ascmhl/')).length, 5, `${keys.join(', ')}`);
  for (const m of [...cardManifests, ...rootManifests]) assert.equal(schemaErrors(m, 'ASCMHL.xsd'), '', m);
  assert.equal(schemaErrors(path.join(got, 'A004R2EC', 'ascmhl', 'ascmhl_chain.xml'), 'ASCMHLDirectory.xsd'), '');
  const cardGen = cardManifests[1]!;
  assert.equal(xpath(cardGen, `string(//${el('hash')}[${el('path')}='Clips/A004C001.mov']/${el('xxh64')}/@action)`), 'verified');
  assert.equal(xpath(cardGen, `string(//${el('hash')}[${el('path')}='Clips/A004C001.mov']/${el('xxh128')})`), toolHash('xxhsum', ['-H2', path.join(got, 'A004R2EC', 'Clips', 'A004C001.mov')]));
  assert.equal(xpath(rootManifests[0]!, `string(//${el('hash')}[${el('path')}='loose.mov']/${el('xxh64')}/@action)`), 'original');
  assert.equal(Number(xpath(rootManifests[0]!, `count(//${el('hash')})`)), 1, "the card's files are in the card's history only");

  // The next files make the next batch: generation 0002 of the folder's own history, with them alone.
  await writeRandomFile(path.join(watched, 'later.mov'), 32 * 1024);
  const again = await hoist([...cli(dir), 'watch', '--once'], env);
  assert.equal(again.code, 0, again.stderr);
  const got2 = path.join(dir, 'download-2');
  await downloadPrefix(client, bucket, 'shoot/ascmhl/', got2);
  const next = manifestsIn(got2);
  assert.equal(next.length, 2);
  assert.match(path.basename(next[1]!), /^0002_ingest_/);
  assert.equal(schemaErrors(next[1]!, 'ASCMHL.xsd'), '');
  assert.equal(xpath(next[1]!, `string(//${el('hash')}/${el('path')})`), 'later.mov');
  assert.equal(Number(xpath(next[1]!, `count(//${el('hash')})`)), 1);
  assert.equal(Number(xpath(path.join(got2, 'ascmhl_chain.xml'), `count(//${el('hashlist')})`)), 2);
});

test('a watched folder that keeps running: files arriving while a batch uploads join it; the batch is sealed only once the folder has been idle for the settle time', async () => {
  const dir = tempDir('mhl-watch-live');
  const watched = path.join(dir, 'dailies');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: s3Env().endpoint, bucket, prefix: 'live' }, { mhl: true, stableMs: 200 }, { batchSettleMs: 4000 });
  try {
    await writeRandomFile(path.join(watched, 'a.mov'), 2 * MiB);
    await until('a.mov uploaded', () => rig.engine.listJobs({ states: ['done'] }).length === 1);
    // Within the settle time: the same batch.
    await writeRandomFile(path.join(watched, 'b.mov'), 2 * MiB);
    const written = await until('the first batch written', () => rig.engine.listBatches({ states: ['written'] })[0]);
    assert.equal(written.jobs, 2, 'a file that came before the folder was idle for 4 s is in the same batch');
    assert.equal(written.generation, 1);
    await writeRandomFile(path.join(watched, 'c.mov'), 1 * MiB);
    const second = await until('the second batch written', () => rig.engine.listBatches({ states: ['written'] })[1]);
    assert.deepEqual([second.generation, second.jobs], [2, 1]);
    const got = path.join(dir, 'download');
    await downloadPrefix(client, bucket, 'live/ascmhl/', got);
    const manifests = manifestsIn(got);
    assert.deepEqual(manifests.map((m) => Number(xpath(m, `count(//${el('hash')})`))), [2, 1]);
    assert.equal(xpath(manifests[1]!, `string(//${el('hash')}/${el('path')})`), 'c.mov');
    for (const m of manifests) assert.equal(schemaErrors(m, 'ASCMHL.xsd'), '');
  } finally {
    await rig.stop();
  }
});
