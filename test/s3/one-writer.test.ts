// One writer per key (issue 13, item 4; docs/architecture.md invariant 12): two jobs bound for one
// key never run at once (the proxy's request log shows no interleaving; the second waits, and its
// row says for which job), and a write raced by another client is never completed over it: the
// conditional write (If-None-Match: *, If-Match: the ETag seen) or, where the server ignores the
// condition (radosgw 16 on CompleteMultipartUpload), the HeadObject look before Complete makes the
// job decide again by its policy.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { jobLine } from '../../src-main/cli/output.js';
import { s3ErrorXml, type ProxiedRequest } from '../support/s3-proxy.js';
import { recordResult } from '../support/results.js';
import { testEngine, until } from '../support/engine.js';
import { MiB, listUploads, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';

const { client, bucket, proxy, dir, onClose } = await s3Fixture('one-writer', { proxy: true });
const { engine, dest } = testEngine(tempDir('one-writer'), { endpoint: proxy.url, bucket, concurrency: 4, partSize: 5 * MiB, singlePutThreshold: 5 * MiB });
onClose(() => engine.close());
engine.start();

const onKey = (key: string) => (r: ProxiedRequest) => r.path === `/${bucket}/${key}`;
const WRITES = new Set(['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']);
const etagOf = async (key: string) => ((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag ?? '').replace(/"/g, '');

test('two jobs for one key never overlap: the second waits (its row names the first) and opens once the first has left', async () => {
  const single = 'race/A005C001.mov';
  const multi = 'race/A005C002.mov';
  const a = await writeRandomFile(path.join(dir, 'a.mov'), MiB);
  const b = await writeRandomFile(path.join(dir, 'b.mov'), 2 * MiB);
  const c = await writeRandomFile(path.join(dir, 'c.mov'), 12 * MiB);
  const d = await writeRandomFile(path.join(dir, 'd.mov'), 3 * MiB);
  // The first writer of each key is held up on the wire, so a second writer would have all the time to start.
  proxy.addFault({ operation: 'PutObject', times: 1, when: onKey(single), action: { kind: 'stall', ms: 1500 } });
  proxy.addFault({ operation: 'UploadPart', times: 1, when: (r) => onKey(multi)(r) && r.query.includes('partNumber=3'), action: { kind: 'stall', ms: 1500 } });
  const [ja] = await engine.enqueue([a], { destination: dest, key: single });
  const [jb] = await engine.enqueue([b], { destination: dest, key: single });
  const [jc] = await engine.enqueue([c], { destination: dest, key: multi });
  const [jd] = await engine.enqueue([d], { destination: dest, key: multi });

  const waiting = await until('the second job of a key to wait for the first', () => engine.getJob(jb!.id)?.waitingFor === ja!.id && engine.getJob(jb!.id), 15_000);
  assert.equal(waiting.state, 'queued');
  assert.match(jobLine(waiting), new RegExp(`waits for job ${ja!.id} \\(same key`));
  await until('all four done', () => [ja, jb, jc, jd].every((j) => engine.getJob(j!.id)?.state === 'done'));

  const log = proxy.requests();
  const puts = log.filter((r) => onKey(single)(r) && r.operation === 'PutObject');
  assert.deepEqual(puts.map((r) => r.requestBytes), [MiB, 2 * MiB], 'the first job wrote first');
  assert.ok(puts[1]!.seq > puts[0]!.answeredSeq!, 'the second PutObject arrived only once the first was answered');
  const writes = log.filter((r) => onKey(multi)(r) && WRITES.has(r.operation));
  const firstOfD = writes.findIndex((r) => r.operation === 'PutObject');
  const ofC = writes.slice(0, firstOfD);
  assert.deepEqual(ofC.map((r) => r.operation), ['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
  assert.ok(writes.slice(firstOfD).every((r) => r.operation === 'PutObject'), 'nothing of the multipart upload after the other job began');
  const lastAnswered = Math.max(...ofC.map((r) => r.answeredSeq!));
  assert.ok(writes[firstOfD]!.seq > lastAnswered, 'the PutObject arrived only once every request of the multipart upload was answered');
  // The later job found the earlier one's object and replaced it on condition that it still was that one.
  assert.equal(engine.getJob(jb!.id)?.outcome, 'replaced');
  assert.equal(await sha256OfObject(client, bucket, single), await sha256OfFile(b));
  assert.equal(await sha256OfObject(client, bucket, multi), await sha256OfFile(d));
  recordResult('one-writer-per-key', {
    what: 'two jobs for one key (1 MiB then 2 MiB PutObject; a 12 MiB multipart upload then a 3 MiB PutObject), the first writer of each stalled 1.5 s at the proxy, concurrency 4',
    outcome: `the second job waited queued (its row: waitingFor ${ja!.id}); in the proxy's log every request of the second arrived after the first's last was answered; the later job replaced the object (If-Match)`,
  });
});

test('Complete refused 412 after another client wrote the key (the proxy plays Amazon S3): the job decides again and replaces it, without sending a part twice', async () => {
  const key = 'race/A006C001.mov';
  const file = await writeRandomFile(path.join(dir, 'race-complete.mov'), 12 * MiB);
  const theirs = crypto.randomBytes(MiB);
  proxy.reset();
  // radosgw 16 ignores If-None-Match on Complete; Amazon S3 refuses it once the key holds an object.
  proxy.addFault({
    operation: 'CompleteMultipartUpload',
    times: 1,
    when: (r) => onKey(key)(r) && r.headers['if-none-match'] === '*',
    action: {
      kind: 'respond',
      answer: async () => {
        // The other client's write lands first; then the proxy refuses ours as S3 would.
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: theirs }));
        return { status: 412, headers: { 'content-type': 'application/xml' }, body: s3ErrorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold') };
      },
    },
  });
  const [job] = await engine.enqueue([file], { destination: dest, key });
  await until('the job to end', () => ['done', 'failed'].includes(engine.getJob(job!.id)!.state) && engine.getJob(job!.id));
  const done = engine.getJob(job!.id)!;
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  assert.equal(done.outcome, 'replaced');
  const theirsEtag = crypto.createHash('md5').update(theirs).digest('hex');
  const completes = proxy.requests().filter((r) => onKey(key)(r) && r.operation === 'CompleteMultipartUpload');
  assert.deepEqual(completes.map((r) => [r.status, r.headers['if-none-match'], r.headers['if-match']]), [[412, '*', undefined], [200, undefined, theirsEtag]]);
  assert.equal(proxy.counts().UploadPart, 3, 'the upload and its parts were kept');
  const changed = engine.events(job!.id).find((e) => e.kind === 'key-changed');
  assert.equal(changed?.code, 's3.precondition-failed');
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
  recordResult('conditional-complete-race', {
    what: 'another client writes the key while a 12 MiB multipart upload completes; the proxy plays Amazon S3 and answers the If-None-Match: * Complete 412 PreconditionFailed',
    outcome: `s3.precondition-failed in the history, the job decided again (skip-identical: other bytes, replaced) and completed with If-Match ${theirsEtag}; 3 UploadPart in all, object whole`,
  });
});

test('never-overwrite and a client that writes the key while the parts go out: radosgw ignores the conditional Complete, the look before Complete refuses it', async () => {
  const key = 'race/A007C001.mov';
  // What radosgw 16 does with a conditional Complete on a key that holds an object (recorded, not relied on).
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe/complete.bin', Body: 'there' }));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'probe/complete.bin' }));
  const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: 'probe/complete.bin', UploadId, PartNumber: 1, Body: 'x' }));
  const probe = await client
    .send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'probe/complete.bin', UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }))
    .then(() => 'completed it (the condition ignored)', (e: { name?: string }) => `refused it (${e.name})`);

  const file = await writeRandomFile(path.join(dir, 'race-never.mov'), 12 * MiB);
  const theirs = crypto.randomBytes(MiB);
  proxy.reset();
  proxy.addFault({ operation: 'UploadPart', times: 1, when: onKey(key), action: { kind: 'stall', ms: 1000 } });
  const [job] = await engine.enqueue([file], { destination: dest, key, ifExists: 'never-overwrite' });
  await until('the first part on the wire', () => proxy.requests().some((r) => onKey(key)(r) && r.operation === 'UploadPart'));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: theirs }));
  await until('the job to end', () => ['done', 'failed'].includes(engine.getJob(job!.id)!.state));
  const failed = engine.getJob(job!.id)!;
  assert.equal(failed.state, 'failed');
  assert.equal(failed.error?.code, 's3.object-exists');
  assert.equal(proxy.counts().CompleteMultipartUpload, 0, 'never completed over it');
  assert.equal(await etagOf(key), crypto.createHash('md5').update(theirs).digest('hex'), 'their object stands');
  await until('our upload to be aborted', async () => !(await listUploads(client, bucket)).some((u) => u.key === key));
  recordResult('never-overwrite-race', {
    what: 'never-overwrite; another client writes the key while a 12 MiB multipart upload sends its parts (radosgw alone)',
    outcome: `radosgw 16, given a CompleteMultipartUpload with If-None-Match: * on a key that holds an object, ${probe}; Hoist's HeadObject before Complete saw the new object: s3.precondition-failed, decided again, s3.object-exists, no Complete sent, their object stands, our upload aborted`,
  });
});

test('a PutObject raced on the wire: radosgw refuses If-None-Match: * with 412, and the job replaces the new object on condition (If-Match)', async () => {
  const key = 'race/A008C001.mov';
  const file = await writeRandomFile(path.join(dir, 'race-put.mov'), 2 * MiB);
  const theirs = crypto.randomBytes(MiB);
  proxy.reset();
  proxy.addFault({ operation: 'PutObject', times: 1, when: onKey(key), action: { kind: 'stall', ms: 1000 } });
  const [job] = await engine.enqueue([file], { destination: dest, key });
  // While our PutObject is held at the proxy, another client writes the key on the server itself.
  await until('our PutObject on the wire', () => proxy.requests().some((r) => onKey(key)(r) && r.operation === 'PutObject'));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: theirs }));
  await until('the job to end', () => ['done', 'failed'].includes(engine.getJob(job!.id)!.state));
  const done = engine.getJob(job!.id)!;
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  const theirsEtag = crypto.createHash('md5').update(theirs).digest('hex');
  const puts = proxy.requests().filter((r) => onKey(key)(r) && r.operation === 'PutObject');
  assert.deepEqual(puts.map((r) => [r.status, r.headers['if-none-match'], r.headers['if-match']]), [[412, '*', undefined], [200, undefined, theirsEtag]], 'radosgw itself refused the first');
  assert.equal(done.outcome, 'replaced');
  assert.equal(await sha256OfObject(client, bucket, key), await sha256OfFile(file));
});

test('a server that refuses conditional writes as not implemented (the proxy plays one): writes go on without conditions, held by the look before Complete, and the history says so', async () => {
  const { id: _id, credentials: _c, ...settings } = dest;
  const refusing = engine.upsertDestination({ ...settings, name: 'refuses-conditions' });
  const single = await writeRandomFile(path.join(dir, 'refuse-put.mov'), MiB);
  const multi = await writeRandomFile(path.join(dir, 'refuse-complete.mov'), 12 * MiB);
  proxy.reset();
  const conditional = (r: ProxiedRequest) => r.headers['if-none-match'] !== undefined || r.headers['if-match'] !== undefined;
  proxy.addFault({ operation: ['PutObject', 'CompleteMultipartUpload'], when: conditional, action: { kind: 'status', status: 501, code: 'NotImplemented', message: 'A header you provided implies functionality that is not implemented' } });
  const [a] = await engine.enqueue([single], { destination: refusing, key: 'refuse/A010C001.mov' });
  const [b] = await engine.enqueue([multi], { destination: refusing, key: 'refuse/A010C002.mov' });
  await until('both to end', () => [a, b].every((j) => ['done', 'failed'].includes(engine.getJob(j!.id)!.state)));
  for (const j of [a, b]) assert.equal(engine.getJob(j!.id)!.state, 'done', JSON.stringify(engine.getJob(j!.id)!.error));
  const writes = proxy.requests().filter((r) => r.operation === 'PutObject' || r.operation === 'CompleteMultipartUpload');
  const refused = writes.filter((r) => r.status === 501);
  assert.equal(refused.length, 1, 'refused once, then never asked again');
  assert.ok(writes.filter((r) => r.seq > refused[0]!.seq).every((r) => !conditional(r) && r.status === 200));
  const notes = [a, b].flatMap((j) => engine.events(j!.id)).filter((e) => e.kind === 'conditions-refused');
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.code, 's3.not-implemented');
  assert.ok(proxy.counts().HeadObject >= 2, 'each job still looked at its key');
  assert.equal(await sha256OfObject(client, bucket, 'refuse/A010C001.mov'), await sha256OfFile(single));
  assert.equal(await sha256OfObject(client, bucket, 'refuse/A010C002.mov'), await sha256OfFile(multi));
});
