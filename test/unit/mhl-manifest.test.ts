// ASC MHL documents (issue 8): what Hoist writes validates against the ASC's schema (xmllint), and
// what it reads back (its own, and the shapes other tools write) is what was meant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildChain, buildManifest, generationOf, manifestFileName, parseChain, parseManifest, type NewManifest } from '../../src-main/engine/mhl/manifest.js';
import fs from 'node:fs';
import path from 'node:path';
import { HoistError, isRetryable } from '../../shared/errors.js';
import { MAX_HISTORY_ROOTS, SourceHistories, SourceHistory, isHistoryPath, mhlPlacement, mhlRootOf, verifyAgainstHistory } from '../../src-main/engine/mhl/source-history.js';
import { c4Of } from '../../src-main/engine/upload/file-hashes.js';
import { schemaErrors } from '../support/mhl.js';
import { tempDir } from '../support/s3.js';

const at = new Date('2024-05-01T10:15:00.250Z');

/** A transfer manifest made at `at` on `hostname` by `tool`, with no ignore patterns. */
function transferManifest(hostname: string, tool: NewManifest['tool'], entries: NewManifest['entries']): string {
  return buildManifest({ createdAt: at, hostname, tool, process: 'transfer', ignorePatterns: [], entries });
}

test('a manifest with every hash format, a name to escape and a verified entry validates against both ASC schemas (repository and ascmhl 1.2) and reads back', () => {
  const xml = buildManifest({
    createdAt: at,
    hostname: 'ingest-01',
    tool: { name: 'Hoist', version: '0.1.0' },
    process: 'transfer',
    ignorePatterns: ['.DS_Store', 'ascmhl'],
    entries: [
      {
        path: 'Clips/A002C006 <R&D>.mov',
        size: 123456789012,
        lastModified: at,
        hashes: { xxh64: '0ea03b369a463d9d', md5: 'db70108a53fdb5b138f1a304ef1d3280', xxh128: '45a5ce9e40366f34b2f5b85a04062192', xxh3: 'd652a1a6318d7322', sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', c4: 'c43zYcLni5LF9rR4Lg4B8h3Jp8SBwjcnyyeh4bc6gTPHndKuKdjUWx1kJPYhZxYt3zV6tQXpDs2shPsPYjgG81wZM1', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
        action: 'verified',
        hashDate: at,
      },
      { path: 'Sound/0123.wav', size: 0, lastModified: at, hashes: { xxh64: '0123456789012345' }, action: 'original', hashDate: at },
    ],
  });
  assert.equal(schemaErrors(xml, 'ASCMHL.xsd'), '');
  assert.match(xml, /<process>transfer<\/process>/);
  assert.match(xml, /<creationdate>2024-05-01T10:15:00Z<\/creationdate>/);
  assert.match(xml, /<tool version="0.1.0">Hoist<\/tool>/);
  // The published schema has no sha256 element: it stays with the job, out of the manifest.
  assert.doesNotMatch(xml, /sha256/);
  const listed = parseManifest(xml);
  assert.deepEqual(listed.map((f) => [f.path, f.size]), [['Clips/A002C006 <R&D>.mov', 123456789012], ['Sound/0123.wav', 0]]);
  assert.equal(listed[0]!.hashes.c4, 'c43zYcLni5LF9rR4Lg4B8h3Jp8SBwjcnyyeh4bc6gTPHndKuKdjUWx1kJPYhZxYt3zV6tQXpDs2shPsPYjgG81wZM1');
  assert.equal(listed[0]!.actions.xxh64, 'verified');
  // A hex value of digits only stays a string, leading zero and all.
  assert.equal(listed[1]!.hashes.xxh64, '0123456789012345');
});

test("a file's hash elements are written in the order ascmhl 1.2's schema fixes (c4, md5, sha1, xxh128, xxh3, xxh64), whatever the order they were asked for", () => {
  const hex = (n: number) => 'ab'.repeat(n);
  const sets: Array<Record<string, string>> = [
    { xxh64: hex(8), md5: hex(16) },
    { md5: hex(16), xxh64: hex(8), sha1: hex(20) },
    { xxh64: hex(8), xxh128: hex(16), xxh3: hex(8) },
    { xxh3: hex(8), c4: 'c4' + '1'.repeat(88), sha1: hex(20) },
  ];
  const xml = transferManifest('ingest-01', { name: 'Hoist', version: '0.1.0' }, sets.map((hashes, i) => ({ path: `Clips/${i}.mov`, size: 1, lastModified: at, hashes, action: 'original' as const, hashDate: at })));
  assert.equal(schemaErrors(xml, 'ASCMHL.xsd'), '');
  const order = ['c4', 'md5', 'sha1', 'xxh128', 'xxh3', 'xxh64'];
  for (const block of xml.split('<hash>').slice(1)) {
    const written = [...block.matchAll(/<(c4|md5|sha1|xxh128|xxh3|xxh64) /g)].map((m) => m[1]!);
    assert.deepEqual(written, order.filter((f) => written.includes(f)), block);
  }
  // The 1.2 schema does hold the order: the same hashes the other way round pass only the repository's.
  const swapped = xml.replace(/(<md5 [^>]*>[^<]*<\/md5>)(\s*)(<xxh64 [^>]*>[^<]*<\/xxh64>)/, '$3$2$1');
  assert.notEqual(swapped, xml);
  assert.match(schemaErrors(swapped, 'ASCMHL.xsd'), /^1\.2\/ASCMHL\.xsd: .*'{urn:ASC:MHL:v2.0}md5': This element is not expected/s);
});

test('a chain file validates against ASCMHLDirectory.xsd, lists generations in order and reads back', () => {
  const xml = buildChain([
    { sequence: 2, path: '0002_A002R2EC_2024-05-02_101500Z.mhl', c4: 'c4b' },
    { sequence: 1, path: '0001_A002R2EC_2024-05-01_101500Z.mhl', c4: 'c4a' },
  ]);
  assert.equal(schemaErrors(xml, 'ASCMHLDirectory.xsd'), '');
  assert.deepEqual(parseChain(xml), [
    { sequence: 1, path: '0001_A002R2EC_2024-05-01_101500Z.mhl', c4: 'c4a' },
    { sequence: 2, path: '0002_A002R2EC_2024-05-02_101500Z.mhl', c4: 'c4b' },
  ]);
});

test("what other tools write reads too: a prefixed namespace, the example's 'sequencer' attribute, upper-case hex, directory hashes", () => {
  const manifest = `<?xml version="1.0" encoding="UTF-8"?>
<m:hashlist version="2.0" xmlns:m="urn:ASC:MHL:v2.0">
  <m:creatorinfo><m:creationdate>2020-01-16T09:15:00+01:00</m:creationdate><m:hostname>x</m:hostname><m:tool version="1">Silverstack</m:tool></m:creatorinfo>
  <m:processinfo><m:process>in-place</m:process></m:processinfo>
  <m:hashes>
    <m:hash><m:path size="5" lastmodificationdate="2020-01-16T09:15:00+01:00">Clips/A.mov</m:path><m:xxh64 action="original">0EA03B369A463D9D</m:xxh64></m:hash>
    <m:directoryhash><m:path>Clips</m:path><m:content><m:xxh64>1</m:xxh64></m:content><m:structure><m:xxh64>2</m:xxh64></m:structure></m:directoryhash>
  </m:hashes>
</m:hashlist>`;
  assert.deepEqual(parseManifest(manifest).map((f) => [f.path, f.hashes]), [['Clips/A.mov', { xxh64: '0ea03b369a463d9d' }]]);
  const chain = '<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0"><hashlist sequencer="1"><path>0001_T_2019-10-11_155603.mhl</path><c4>c4x</c4></hashlist></ascmhldirectory>';
  assert.deepEqual(parseChain(chain), [{ sequence: 1, path: '0001_T_2019-10-11_155603.mhl', c4: 'c4x' }]);
  assert.throws(() => parseManifest('<foo/>'), /not an ASC MHL manifest/);
  assert.throws(() => parseChain('<foo/>'), /not an ASC MHL chain/);
});

test('generation file names: NNNN_<root>_<UTC time>Z.mhl, and only those count as generations', () => {
  assert.equal(manifestFileName(7, 'A002R2EC', at), '0007_A002R2EC_2024-05-01_101500Z.mhl');
  assert.equal(manifestFileName(12345, 'Day 1', at), '12345_Day 1_2024-05-01_101500Z.mhl');
  assert.equal(generationOf('0007_A002R2EC_2024-05-01_101500Z.mhl'), 7);
  assert.equal(generationOf('ascmhl_chain.xml'), null);
  assert.equal(generationOf('notes.mhl'), null);
  assert.equal(isHistoryPath('ascmhl/0001_x.mhl'), true);
  assert.equal(isHistoryPath('A002R2EC/ascmhl/ascmhl_chain.xml'), true);
  assert.equal(isHistoryPath('Clips/ascmhl.mov'), false);
  assert.equal(isHistoryPath('ascmhl'), false);
});

function writeGeneration(root: string, name: string, files: Record<string, string>): string {
  const xml = transferManifest('cart', { name: 'offload', version: '1' }, Object.entries(files).map(([p, xxh64]) => ({ path: p, size: 1, lastModified: at, hashes: { xxh64 }, action: 'original' as const, hashDate: at })));
  fs.mkdirSync(path.join(root, 'ascmhl'), { recursive: true });
  fs.writeFileSync(path.join(root, 'ascmhl', name), xml);
  return xml;
}

test('a source history: the newest generation listing a file is the reference; a manifest changed after its chain sealed it vouches for nothing', async () => {
  const root = path.join(tempDir('history'), 'A002R2EC');
  const g1 = writeGeneration(root, '0001_A002R2EC_2024-05-01_101500Z.mhl', { 'Clips/a.mov': '1111111111111111', 'Clips/b.mov': '2222222222222222' });
  const g2 = writeGeneration(root, '0002_A002R2EC_2024-05-02_101500Z.mhl', { 'Clips/a.mov': 'aaaaaaaaaaaaaaaa' });
  fs.writeFileSync(path.join(root, 'ascmhl', 'ascmhl_chain.xml'), buildChain([
    { sequence: 1, path: '0001_A002R2EC_2024-05-01_101500Z.mhl', c4: c4Of(g1) },
    { sequence: 2, path: '0002_A002R2EC_2024-05-02_101500Z.mhl', c4: c4Of(g2) },
  ]));
  const history = (await SourceHistory.load(root))!;
  assert.deepEqual(history.lookup('Clips/a.mov'), { manifest: 'ascmhl/0002_A002R2EC_2024-05-02_101500Z.mhl', generation: 2, size: 1, hashes: { xxh64: 'aaaaaaaaaaaaaaaa' } });
  assert.equal(history.lookup('Clips/b.mov')!.generation, 1);
  assert.equal(history.lookup('Clips/c.mov'), null);
  // Names compare in NFC whatever the disk wrote (macOS writes NFD).
  writeGeneration(root, '0003_A002R2EC_2024-05-03_101500Z.mhl', { 'Clips/cafe\u0301.mov': '3333333333333333' });
  assert.equal((await SourceHistory.load(root))!.lookup('Clips/caf\u00e9.mov')!.generation, 3);

  const record = history.lookup('Clips/a.mov')!;
  assert.deepEqual(verifyAgainstHistory('/x/Clips/a.mov', root, record, { xxh64: 'aaaaaaaaaaaaaaaa', md5: 'ff' }), { manifest: record.manifest, algorithms: ['xxh64'] });
  assert.equal(verifyAgainstHistory('/x/Clips/a.mov', root, record, { md5: 'ff' }), null, 'nothing in common: nothing vouched');
  assert.throws(
    () => verifyAgainstHistory('/x/Clips/a.mov', root, record, { xxh64: 'bbbbbbbbbbbbbbbb' }),
    (e: unknown) => e instanceof HoistError && e.code === 'source.hash-mismatch' && !isRetryable(e.code) &&
      e.message.includes('/x/Clips/a.mov') && e.message.includes('bbbbbbbbbbbbbbbb') && e.message.includes('aaaaaaaaaaaaaaaa') && e.message.includes(path.join(root, 'ascmhl', '0002_A002R2EC_2024-05-02_101500Z.mhl')),
  );

  // A generation edited after the chain recorded its C4 ID.
  fs.appendFileSync(path.join(root, 'ascmhl', '0001_A002R2EC_2024-05-01_101500Z.mhl'), '\n');
  await assert.rejects(SourceHistory.load(root), (e: unknown) => e instanceof HoistError && e.code === 'source.hash-mismatch' && /changed after it was written/.test(e.message));
  assert.equal(await SourceHistory.load(path.join(root, 'Clips')), null, 'no ascmhl/ folder: no history');
});

test("a file's root is the nearest folder with an ascmhl/ folder up to the folder given, else that folder", () => {
  const base = tempDir('roots');
  fs.mkdirSync(path.join(base, 'A002R2EC', 'ascmhl'), { recursive: true });
  fs.mkdirSync(path.join(base, 'A002R2EC', 'Clips', 'sub'), { recursive: true });
  fs.mkdirSync(path.join(base, 'loose'), { recursive: true });
  assert.equal(mhlRootOf(base, path.join(base, 'A002R2EC', 'Clips', 'sub', 'x.mov')), path.join(base, 'A002R2EC'));
  assert.equal(mhlRootOf(base, path.join(base, 'loose', 'y.mov')), base);
  assert.equal(mhlRootOf(base, path.join(base, 'z.mov')), base);
  assert.deepEqual(mhlPlacement(base, path.join(base, 'A002R2EC', 'Clips', 'x.mov'), 'day1/A002R2EC/Clips/x.mov'), { root: path.join(base, 'A002R2EC'), path: 'Clips/x.mov', rootPrefix: 'day1/A002R2EC/' });
  assert.throws(() => mhlPlacement(base, path.join(base, 'z.mov'), 'renamed.mov'), /use a prefix, not a key of its own/);
});

test("a look at a root's ascmhl/ answers the jobs opened before it started, never one opened after (issue 12: one look for the frames opened together)", async () => {
  const root = path.join(tempDir('histories'), 'A002R2EC');
  fs.mkdirSync(path.join(root, 'Clips'), { recursive: true });
  const histories = new SourceHistories();
  // Two frames open in one pass of the scheduler; the first looks: no history.
  const first = histories.ticket();
  const second = histories.ticket();
  assert.equal(await histories.forRoot(root, first), null);
  // A history is written before the second frame looks: it opened before the first look started,
  // so that look answers it (as if it had looked at the same moment), without a look of its own.
  writeGeneration(root, '0001_A002R2EC_2024-05-01_101500Z.mhl', { 'Clips/a.mov': '1111111111111111' });
  assert.equal(await histories.forRoot(root, second), null, 'the look started after it opened answers it');
  // A frame opened after that look started looks again, and sees the history.
  const third = histories.ticket();
  assert.equal((await histories.forRoot(root, third))?.lookup('Clips/a.mov')?.generation, 1);
  // Without a ticket (a hash pass), always a look of its own: a generation added since is seen.
  writeGeneration(root, '0002_A002R2EC_2024-05-02_101500Z.mhl', { 'Clips/a.mov': 'aaaaaaaaaaaaaaaa' });
  assert.equal((await histories.forRoot(root))?.lookup('Clips/a.mov')?.generation, 2);
});

test('histories are held for the roots used most recently only, and a forgotten root is read again when seen again', async () => {
  const base = tempDir('many-roots');
  const histories = new SourceHistories();
  const roots = Array.from({ length: MAX_HISTORY_ROOTS + 20 }, (_, i) => path.join(base, `A${String(i).padStart(3, '0')}R2EC`));
  for (const root of roots) {
    writeGeneration(root, '0001_CARD_2024-05-01_101500Z.mhl', { 'Clips/a.mov': '1111111111111111' });
    assert.equal((await histories.forRoot(root, histories.ticket()))?.lookup('Clips/a.mov')?.generation, 1);
    // The first card is used all along: it stays.
    await histories.forRoot(roots[0]!, histories.ticket());
  }
  assert.equal(histories.heldRoots, MAX_HISTORY_ROOTS, 'a card ingested long ago is not kept for the life of the process');
  writeGeneration(roots[1]!, '0002_CARD_2024-05-02_101500Z.mhl', { 'Clips/a.mov': 'aaaaaaaaaaaaaaaa' });
  assert.equal((await histories.forRoot(roots[1]!, histories.ticket()))?.lookup('Clips/a.mov')?.generation, 2, 'read again, with what was added since');
  assert.equal((await histories.forRoot(roots[0]!, histories.ticket()))?.lookup('Clips/a.mov')?.generation, 1);
});
