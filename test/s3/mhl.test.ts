// ASC MHL through the real `hoist upload` against the real local S3 server (issue 8): the tree
// arrives with a generation of its root's history that validates against the ASC's schema and
// whose hashes equal what Debian's xxhsum and coreutils compute from the downloaded objects; a
// source history that disagrees with a file stops that file and nothing else.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Job, MhlBatch } from '../../shared/types.js';
import { doneParts, testDbPath, testEngine, until } from '../support/engine.js';
import { hoist, startHoist } from '../support/hoist-cli.js';
import { c4ByHand, downloadObject, downloadPrefix, schemaErrors, toolHash } from '../support/mhl.js';
import { MiB, listUploads, s3Env, sha256OfFile, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy } = await s3Fixture('mhl', { proxy: true });

const cli = (dir: string, endpoint = s3Env().endpoint) => ['--db', testDbPath(dir), '--endpoint', endpoint, '--path-style'];

interface UploadResult {
  code: number | null;
  stderr: string;
  jobs: Job[];
  batches: MhlBatch[];
}

async function upload(dir: string, args: string[], endpoint?: string): Promise<UploadResult> {
  const r = await hoist([...cli(dir, endpoint), 'upload', ...args, '--bucket', bucket, '--json']);
  const out = r.stdout ? (JSON.parse(r.stdout) as { jobs: Job[]; batches?: MhlBatch[] }) : { jobs: [], batches: [] };
  return { code: r.code, stderr: r.stderr, jobs: out.jobs, batches: out.batches ?? [] };
}

/** A value from a manifest by XPath with xmllint, so that no Hoist code reads what Hoist wrote. */
function xpath(file: string, expr: string): string {
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
}
const el = (name: string) => `*[local-name()='${name}']`;
const hashOf = (file: string, rel: string, format: string, what = 'text()') => xpath(file, `string(//${el('hash')}[${el('path')}='${rel}']/${el(format)}/${what === 'text()' ? 'text()' : what})`);

function ascmhlFiles(dir: string): { manifests: string[]; chain: string } {
  const names = fs.readdirSync(path.join(dir, 'ascmhl')).sort();
  return { manifests: names.filter((n) => n.endsWith('.mhl')).map((n) => path.join(dir, 'ascmhl', n)), chain: path.join(dir, 'ascmhl', 'ascmhl_chain.xml') };
}

/** The chain's entries as xmllint reads them: [sequencenr, path, c4]. */
function chainEntries(chain: string): Array<[string, string, string]> {
  const n = Number(xpath(chain, `count(//${el('hashlist')})`));
  const out: Array<[string, string, string]> = [];
  for (let i = 1; i <= n; i++) {
    out.push([xpath(chain, `string(//${el('hashlist')}[${i}]/@sequencenr)`), xpath(chain, `string(//${el('hashlist')}[${i}]/${el('path')})`), xpath(chain, `string(//${el('hashlist')}[${i}]/${el('c4')})`)]);
  }
  return out;
}

test('a tree with subfolders sent with --hash xxh64,md5 --mhl: every object, a generation that validates and whose hashes equal xxhsum and md5sum; a second batch adds 0002 and extends the chain', async () => {
  const dir = tempDir('mhl-tree');
  const root = path.join(dir, 'A002R2EC');
  const files: Record<string, number> = {
    'Clips/A002C001_240501_R2EC.mov': 101 * MiB + 12_345,
    'Clips/sub/A002C002_240501_R2EC.mov': 7 * MiB,
    'Sound/A002S001.wav': 300 * 1024,
    'Notes/read me é.txt': 11,
  };
  for (const [rel, size] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    await writeRandomFile(path.join(root, rel), size);
  }

  const first = await upload(dir, [root, '--prefix', 'day01', '--hash', 'xxh64,md5', '--mhl']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.jobs.map((j) => [j.key, j.state]).sort(), Object.keys(files).map((rel) => [`day01/${rel}`, 'done']).sort());
  for (const j of first.jobs) assert.deepEqual(Object.keys(j.hashes).sort(), ['md5', 'xxh64'], j.key);
  assert.deepEqual(first.batches.map((b) => [b.state, b.generation, b.jobs]), [['written', 1, 4]]);

  const got = path.join(dir, 'download-1');
  const keys = await downloadPrefix(client, bucket, 'day01/', got);
  const { manifests, chain } = ascmhlFiles(got);
  assert.equal(manifests.length, 1);
  assert.match(path.basename(manifests[0]!), /^0001_A002R2EC_\d{4}-\d{2}-\d{2}_\d{6}Z\.mhl$/);
  assert.deepEqual(keys, [...Object.keys(files), `ascmhl/${path.basename(manifests[0]!)}`, 'ascmhl/ascmhl_chain.xml'].sort());
  assert.equal(schemaErrors(manifests[0]!, 'ASCMHL.xsd'), '');
  assert.equal(schemaErrors(chain, 'ASCMHLDirectory.xsd'), '');
  for (const [rel, size] of Object.entries(files)) {
    const local = path.join(got, ...rel.split('/'));
    assert.equal(await sha256OfFile(local), await sha256OfFile(path.join(root, rel)), `${rel} arrived whole`);
    assert.equal(hashOf(manifests[0]!, rel, 'xxh64'), toolHash('xxhsum', ['-H1', local]), `${rel}: xxh64`);
    assert.equal(hashOf(manifests[0]!, rel, 'md5'), toolHash('md5sum', [local]), `${rel}: md5`);
    assert.equal(hashOf(manifests[0]!, rel, 'xxh64', '@action'), 'original');
    assert.equal(xpath(manifests[0]!, `string(//${el('hash')}/${el('path')}[text()='${rel}']/@size)`), String(size));
  }
  assert.equal(xpath(manifests[0]!, `string(//${el('process')})`), 'transfer');
  assert.equal(xpath(manifests[0]!, `string(//${el('tool')})`), 'Hoist');
  assert.equal(xpath(manifests[0]!, `string(//${el('tool')}/@version)`), JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  const chain1 = chainEntries(chain);
  assert.deepEqual(chain1, [['1', path.basename(manifests[0]!), c4ByHand(manifests[0]!)]]);

  // A second batch into the same root: generation 0002, the chain extended, 0001 as it was.
  await writeRandomFile(path.join(root, 'Clips/A002C003_240501_R2EC.mov'), 3 * MiB);
  const second = await upload(dir, [root, '--prefix', 'day01', '--hash', 'xxh64']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(second.batches, [], 'without --mhl no generation is written');
  const third = await upload(dir, [root, '--prefix', 'day01', '--hash', 'xxh64', '--mhl']);
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual(third.batches.map((b) => [b.state, b.generation, b.jobs]), [['written', 2, 5]]);
  const got2 = path.join(dir, 'download-2');
  await downloadPrefix(client, bucket, 'day01/ascmhl/', path.join(got2, 'ascmhl'));
  const after = ascmhlFiles(got2);
  assert.equal(after.manifests.length, 2);
  assert.match(path.basename(after.manifests[1]!), /^0002_A002R2EC_.*Z\.mhl$/);
  assert.equal(fs.readFileSync(after.manifests[0]!, 'utf8'), fs.readFileSync(manifests[0]!, 'utf8'), 'generation 0001 is left as it was');
  assert.equal(schemaErrors(after.manifests[1]!, 'ASCMHL.xsd'), '');
  assert.equal(schemaErrors(after.chain, 'ASCMHLDirectory.xsd'), '');
  assert.deepEqual(chainEntries(after.chain), [...chain1, ['2', path.basename(after.manifests[1]!), c4ByHand(after.manifests[1]!)]]);
  const added = path.join(got2, 'A002C003_240501_R2EC.mov');
  await downloadObject(client, bucket, 'day01/Clips/A002C003_240501_R2EC.mov', added);
  assert.equal(hashOf(after.manifests[1]!, 'Clips/A002C003_240501_R2EC.mov', 'xxh64'), toolHash('xxhsum', ['-H1', added]));
  assert.equal(Number(xpath(after.manifests[1]!, `count(//${el('hash')})`)), 5);
});

/** A source history as an offload tool leaves it: generation 0001 with each file's xxh64 (from xxhsum) and md5, and its chain. */
function writeSourceHistory(root: string, rels: string[], wrong: string[]): string {
  const name = '0001_' + path.basename(root) + '_2024-05-01_101500Z.mhl';
  const hashes = rels
    .map((rel) => {
      const file = path.join(root, rel);
      const xxh = wrong.includes(rel) ? '0123456789abcdef' : toolHash('xxhsum', ['-H1', file]);
      return `    <hash>
      <path size="${fs.statSync(file).size}" lastmodificationdate="2024-05-01T10:10:00+02:00">${rel}</path>
      <xxh64 action="original" hashdate="2024-05-01T10:12:00+02:00">${xxh}</xxh64>
    </hash>`;
    })
    .join('\n');
  const manifest = `<?xml version="1.0" encoding="UTF-8"?>
<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">
  <creatorinfo>
    <creationdate>2024-05-01T10:15:00+02:00</creationdate>
    <hostname>dit-cart</hostname>
    <tool version="8.1">Offload tool</tool>
  </creatorinfo>
  <processinfo>
    <process>transfer</process>
  </processinfo>
  <hashes>
${hashes}
  </hashes>
</hashlist>
`;
  fs.mkdirSync(path.join(root, 'ascmhl'), { recursive: true });
  const file = path.join(root, 'ascmhl', name);
  fs.writeFileSync(file, manifest);
  assert.equal(schemaErrors(file, 'ASCMHL.xsd'), '', 'the test writes a valid source history');
  fs.writeFileSync(
    path.join(root, 'ascmhl', 'ascmhl_chain.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0">\n  <hashlist sequencenr="1">\n    <path>${name}</path>\n    <c4>${c4ByHand(file)}</c4>\n  </hashlist>\n</ascmhldirectory>\n`,
  );
  return file;
}

async function assertNothingLeft(key: string): Promise<void> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
  assert.equal(head, 404, `no object at ${key}`);
  assert.deepEqual((await listUploads(client, bucket)).filter((u) => u.key === key), [], `no incomplete upload of ${key}`);
}

for (const [mode, badSize] of [['a multipart upload', 12 * MiB], ['a single PutObject', 2 * MiB]] as const) {
  test(`a root whose ASC MHL history records a wrong hash for one file (${mode}): it fails with source.hash-mismatch and leaves nothing; the others arrive marked verified`, async () => {
    const dir = tempDir('mhl-source');
    const root = path.join(dir, 'A003R1AB');
    const rels = ['Clips/A003C001.mov', 'Clips/A003C002.mov', 'Sound/A003S001.wav'];
    const sizes = [badSize, 6 * MiB, 100 * 1024];
    for (const [i, rel] of rels.entries()) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      await writeRandomFile(path.join(root, rel), sizes[i]!);
    }
    const bad = rels[0]!;
    const sourceManifest = writeSourceHistory(root, rels, [bad]);
    const prefix = `day02-${badSize}`;

    const r = await upload(dir, [root, '--prefix', prefix, '--mhl', '--part-size', '5MiB', '--single-put-threshold', '5MiB']);
    assert.equal(r.code, 1, 'not every file arrived');
    const failed = r.jobs.find((j) => j.key === `${prefix}/${bad}`)!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.mode, badSize > 5 * MiB ? 'multipart' : 'single');
    assert.equal(failed.error?.code, 'source.hash-mismatch');
    const actual = toolHash('xxhsum', ['-H1', path.join(root, bad)]);
    assert.ok(failed.error!.message.includes(path.join(root, bad)), failed.error!.message);
    assert.ok(failed.error!.message.includes(actual) && failed.error!.message.includes('0123456789abcdef'), failed.error!.message);
    assert.ok(failed.error!.message.includes(sourceManifest), failed.error!.message);
    assert.equal(failed.hashes.xxh64, actual, 'the hash computed is kept for the user to see');
    await assertNothingLeft(`${prefix}/${bad}`);

    const good = r.jobs.filter((j) => j !== failed);
    assert.deepEqual(good.map((j) => j.state), ['done', 'done'], JSON.stringify(good.map((j) => j.error)));
    for (const j of good) assert.deepEqual(j.verifiedBy, { manifest: `ascmhl/${path.basename(sourceManifest)}`, algorithms: ['xxh64'] });

    // The history continues in the bucket: the source's generation beside Hoist's, one chain for both.
    const got = path.join(dir, 'download');
    await downloadPrefix(client, bucket, `${prefix}/`, got);
    const { manifests, chain } = ascmhlFiles(got);
    assert.deepEqual(manifests.map((m) => path.basename(m).slice(0, 5)), ['0001_', '0002_']);
    assert.equal(fs.readFileSync(manifests[0]!, 'utf8'), fs.readFileSync(sourceManifest, 'utf8'), 'the source generation travels as it was');
    assert.equal(schemaErrors(manifests[1]!, 'ASCMHL.xsd'), '');
    assert.equal(schemaErrors(chain, 'ASCMHLDirectory.xsd'), '');
    assert.deepEqual(chainEntries(chain).map((e) => e[0]), ['1', '2']);
    assert.equal(chainEntries(chain)[1]![2], c4ByHand(manifests[1]!));
    assert.equal(Number(xpath(manifests[1]!, `count(//${el('hash')})`)), 2, 'the file that failed is not listed');
    for (const rel of rels.slice(1)) {
      assert.equal(hashOf(manifests[1]!, rel, 'xxh64', '@action'), 'verified', rel);
      assert.equal(hashOf(manifests[1]!, rel, 'xxh64'), toolHash('xxhsum', ['-H1', path.join(got, ...rel.split('/'))]), rel);
    }
    assert.ok(!fs.existsSync(path.join(got, bad)));
  });
}

test('a crash after the last file arrived and before its generation was written: the next start writes it', async () => {
  const dir = tempDir('mhl-crash');
  const root = path.join(dir, 'B001');
  for (const rel of ['a.mov', 'sub/b.mov']) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    await writeRandomFile(path.join(root, rel), 1 * MiB);
  }
  // Writing a generation starts by reading the chain (GetObject): while that fails, the generation stays owed.
  proxy.addFault({ operation: 'GetObject', action: { kind: 'status', status: 500, code: 'InternalError' } });
  const run = startHoist([...cli(dir, proxy.url), 'upload', root, '--bucket', bucket, '--prefix', 'day03', '--mhl']);
  try {
    let seen = '';
    await until('both files done and a failed attempt at the generation', async () => {
      const r = await hoist([...cli(dir), 'batches', 'list', '--json']);
      seen = r.stdout + r.stderr;
      const { batches } = JSON.parse(r.stdout || '{"batches":[]}') as { batches: Array<MhlBatch & { error: unknown }> };
      return batches.length === 1 && batches[0]!.state === 'sealed' && batches[0]!.error !== null;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${seen}; proxy saw: ${JSON.stringify(proxy.requests().slice(-12))}; hoist upload (exit ${run.child.exitCode}) said: ${run.stderrSoFar()}`);
    });
    const jobs = JSON.parse((await hoist([...cli(dir), 'jobs', '--json'])).stdout) as { jobs: Job[] };
    assert.deepEqual(jobs.jobs.map((j) => j.state), ['done', 'done']);
  } finally {
    run.child.kill('SIGKILL');
    await run.done;
    proxy.clearFaults();
  }
  assert.deepEqual(await downloadPrefix(client, bucket, 'day03/ascmhl/', path.join(dir, 'none')), [], 'no generation yet');
  const resumed = await hoist([...cli(dir), 'run', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const { batches } = JSON.parse(resumed.stdout) as { batches: MhlBatch[] };
  assert.deepEqual(batches.map((b) => [b.state, b.generation, b.jobs]), [['written', 1, 2]]);
  const got = path.join(dir, 'download');
  await downloadPrefix(client, bucket, 'day03/', got);
  const { manifests, chain } = ascmhlFiles(got);
  assert.equal(manifests.length, 1);
  assert.equal(schemaErrors(manifests[0]!, 'ASCMHL.xsd'), '');
  assert.deepEqual(chainEntries(chain), [['1', path.basename(manifests[0]!), c4ByHand(manifests[0]!)]]);
  for (const rel of ['a.mov', 'sub/b.mov']) assert.equal(hashOf(manifests[0]!, rel, 'xxh64'), toolHash('xxhsum', ['-H1', path.join(got, rel)]));
});

test('a history in the bucket that cannot be read: the generation fails with a clear error, is not overwritten, and `hoist batches retry` writes it once the chain is mended', async () => {
  const dir = tempDir('mhl-broken');
  const root = path.join(dir, 'C001');
  fs.mkdirSync(root);
  await writeRandomFile(path.join(root, 'c.mov'), 1000);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'day04/ascmhl/ascmhl_chain.xml', Body: 'not xml at all' }));
  const r = await upload(dir, [root, '--prefix', 'day04', '--mhl']);
  assert.equal(r.code, 1, 'the file arrived but its generation did not');
  assert.deepEqual(r.jobs.map((j) => j.state), ['done']);
  assert.equal(r.batches[0]!.state, 'failed');
  assert.equal(r.batches[0]!.error?.code, 'config.invalid');
  assert.match(r.batches[0]!.error!.message, /ASC MHL history under s3:\/\/.*\/day04\/ascmhl\/ cannot be read/);
  assert.deepEqual(await downloadPrefix(client, bucket, 'day04/ascmhl/', path.join(dir, 'broken')), ['ascmhl_chain.xml']);

  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'day04/ascmhl/ascmhl_chain.xml' }));
  const retried = await hoist([...cli(dir), 'batches', 'retry', String(r.batches[0]!.id)]);
  assert.equal(retried.code, 0, retried.stderr);
  const again = await hoist([...cli(dir), 'batches', 'retry', String(r.batches[0]!.id)]);
  assert.equal(again.code, 2, 'only a failed batch can be retried');
  const run = await hoist([...cli(dir), 'run', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const got = path.join(dir, 'download');
  await downloadPrefix(client, bucket, 'day04/ascmhl/', got);
  const names = fs.readdirSync(got).sort();
  assert.equal(names.length, 2);
  assert.match(names[0]!, /^0001_C001_.*Z\.mhl$/);
  assert.equal(schemaErrors(path.join(got, names[0]!), 'ASCMHL.xsd'), '');
});

test('the hashes describe the bytes uploaded: a file rewritten in place after its hash pass, while its parts are still going out, is hashed again with the upload it restarts', async () => {
  const dir = tempDir('mhl-rewrite');
  const file = await writeRandomFile(path.join(dir, 'grade.mov'), 30 * MiB);
  const before = toolHash('xxhsum', ['-H1', file]);
  proxy.setBandwidth(8 * MiB);
  const { engine, dest } = testEngine(dir, { endpoint: proxy.url, bucket, singlePutThreshold: 0 });
  try {
    const [job] = await engine.enqueue([file], { destination: dest, key: 'rewrite/grade.mov', hashes: ['xxh64', 'md5'] });
    engine.start();
    await until('the hash pass done and a part sent', () => engine.getJob(job!.id)!.hashes.xxh64 !== undefined && doneParts(engine, job!.id).length >= 1);
    assert.equal(engine.getJob(job!.id)!.hashes.xxh64, before);
    // Rewritten in place: same inode and size, new bytes and mtime.
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, crypto.randomBytes(MiB), 0, MiB, 10 * MiB);
    fs.closeSync(fd);
    proxy.setBandwidth(null);
    const [final] = await engine.waitFor([job!.id]);
    assert.equal(final!.state, 'done', JSON.stringify(engine.events(job!.id)));
    assert.ok(engine.events(job!.id).some((e) => e.kind === 'source-changed'));
    const got = path.join(dir, 'download.mov');
    await downloadObject(client, bucket, 'rewrite/grade.mov', got);
    assert.notEqual(final!.hashes.xxh64, before);
    assert.equal(final!.hashes.xxh64, toolHash('xxhsum', ['-H1', got]), 'xxh64 of the object as it is in the bucket');
    assert.equal(final!.hashes.md5, toolHash('md5sum', [got]));
  } finally {
    proxy.setBandwidth(null);
    await engine.close();
  }
});

test('bad input: --mhl with --key, or with no hash a manifest can record, or an empty folder, is refused and queues nothing', async () => {
  const dir = tempDir('mhl-bad');
  const file = await writeRandomFile(path.join(dir, 'x.mov'), 10);
  fs.mkdirSync(path.join(dir, 'empty'));
  const withKey = await hoist([...cli(dir), 'upload', file, '--bucket', bucket, '--key', 'k.mov', '--mhl']);
  assert.equal(withKey.code, 2);
  assert.match(withKey.stderr, /config\.invalid: .*--prefix, not --key/);
  const sha256Only = await hoist([...cli(dir), 'upload', file, '--bucket', bucket, '--hash', 'sha256', '--mhl']);
  assert.equal(sha256Only.code, 2);
  assert.match(sha256Only.stderr, /config\.invalid: An ASC MHL manifest records xxh64/);
  const badHash = await hoist([...cli(dir), 'upload', file, '--bucket', bucket, '--hash', 'crc32']);
  assert.equal(badHash.code, 2);
  assert.match(badHash.stderr, /is not a list of hashes/);
  const empty = await hoist([...cli(dir), 'upload', path.join(dir, 'empty'), '--bucket', bucket]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /holds no file to upload/);
  assert.match((await hoist([...cli(dir), 'jobs'])).stdout, /no jobs/);
});
