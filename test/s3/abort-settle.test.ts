// An upload is aborted only once its parts on the wire have settled, and then made sure of (issue 13):
// the S3 guide says to abort only after every part upload has completed, since a part in flight can
// still succeed after the abort and be billed with no upload to own it, and to call ListParts
// afterwards. Against radosgw, with the fault proxy holding parts on the wire (its `delay` action:
// bytes the server, having them, acts on after the client gave up); where radosgw cannot show what
// Amazon S3 may do (a part that lands after the abort), the proxy plays Amazon S3's part.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ListPartsCommand } from '@aws-sdk/client-s3';
import type { Engine } from '../../src-main/engine/engine.js';
import { REMOTE_ABORT, type JobRecord } from '../../src-main/engine/store/job-store.js';
import type { FaultRule, ProxiedRequest } from '../support/s3-proxy.js';
import { doneParts, testEngine, until } from '../support/engine.js';
import { recordResult } from '../support/results.js';
import { MiB, listUploads, tempDir, writeRandomFile } from '../support/s3.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { startWatching, untilQuiet } from '../support/watch.js';

const { client, bucket, proxy } = await s3Fixture('abort-settle', { proxy: true });

const uploadIdOf = (r: ProxiedRequest) => new URLSearchParams(r.query).get('uploadId');

/** An engine uploading `key` through the proxy, 5 MiB parts, four on the wire at once. */
const engineAt = (dir: string) => testEngine(dir, { endpoint: proxy.url, bucket, concurrency: 4, partSize: 5 * MiB, singlePutThreshold: 0 });

async function uploading(label: string, key: string, size = 60 * MiB): Promise<{ engine: Engine; job: JobRecord; uploadId: string; dir: string }> {
  const dir = tempDir(label);
  const { engine, dest } = engineAt(dir);
  engine.start();
  const file = await writeRandomFile(path.join(dir, 'A001_C001.mov'), size);
  const [job] = await engine.enqueue([file], { destination: dest, key, hashes: [] });
  const uploadId = await until('the upload created', () => engine.getJob(job!.id)!.uploadId ?? undefined);
  return { engine, job: job!, uploadId, dir };
}

async function listPartsOnServer(key: string, uploadId: string): Promise<string> {
  try {
    const out = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    return `${out.Parts?.length ?? 0} parts`;
  } catch (err) {
    return (err as { name?: string }).name ?? String(err);
  }
}

function owedItem(engine: Engine, uploadId: string) {
  return engine.store.owed.list<{ jobId: number | null }>({ kind: REMOTE_ABORT, subject: uploadId }).at(-1);
}

for (const how of ['hoist cancel', 'hoist uploads abort'] as const) {
  test(`${how} with parts on the wire: the abort goes once they have ended, no UploadPart is answered after it, and nothing is left`, { timeout: 3 * 60_000 }, async () => {
    const key = `wire/${how.replace(/ /g, '-')}.mov`;
    proxy.reset();
    proxy.clearFaults();
    // Every part is held 1.5 s once its body arrived, then sent to radosgw whether or not Hoist still waits.
    proxy.addFault({ operation: 'UploadPart', action: { kind: 'delay', ms: 1500 } });
    const { engine, job, uploadId } = await uploading('abort-wire', key);
    try {
      const onTheWire = () => proxy.requests().filter((r) => r.operation === 'UploadPart' && uploadIdOf(r) === uploadId && r.answeredSeq === undefined).length;
      await until('parts acknowledged and several on the wire', () => doneParts(engine, job.id).length >= 2 && onTheWire() >= 3);
      const wire = onTheWire();
      if (how === 'hoist cancel') assert.equal(await engine.cancel(job.id), true);
      else await engine.abortUpload(engine.store.getDestination(job.destinationId)!, key, uploadId);
      assert.equal(engine.getJob(job.id)!.state, 'cancelled');
      assert.deepEqual(engine.owedAborts(job.id), [], 'the abort is settled when the command returns');
      // Every part the proxy held has reached radosgw by now and has its answer.
      await until('every part request answered (or cut before its body was whole)', () => proxy.requests().filter((r) => r.operation === 'UploadPart').every((r) => r.answeredSeq !== undefined || r.incomplete), 30_000);
      proxy.clearFaults();

      const log = proxy.requests();
      const abort = log.find((r) => r.operation === 'AbortMultipartUpload' && uploadIdOf(r) === uploadId);
      assert.ok(abort, 'an AbortMultipartUpload was sent');
      const parts = log.filter((r) => r.operation === 'UploadPart' && uploadIdOf(r) === uploadId);
      const late = parts.filter((r) => r.answeredSeq !== undefined && r.answeredSeq > abort.seq);
      const checks = log.filter((r) => r.operation === 'ListParts' && uploadIdOf(r) === uploadId);
      // Either no part was answered after the abort went, or a ListParts after it looked again.
      for (const p of late) assert.ok(checks.some((c) => c.seq > p.answeredSeq!), `part ${new URLSearchParams(p.query).get('partNumber')} was answered (${p.status}) after the abort and nothing looked again`);
      assert.ok(checks.length >= 1 && checks.at(-1)!.status === 404, 'ListParts after the abort said the upload is gone');
      assert.deepEqual(await listUploads(client, bucket), [], 'no upload left on the bucket');
      assert.match(await listPartsOnServer(key, uploadId), /NoSuch(Upload|Key)/, 'and none of its parts');
      assert.ok(engine.events(job.id).some((e) => e.kind === 'aborted'));
      recordResult(`abort-after-wire-${how === 'hoist cancel' ? 'cancel' : 'uploads-abort'}`, {
        what: `${how} while ${wire} UploadPart requests were held on the wire by the proxy (sent to radosgw 1.5 s after their bodies arrived, whether or not the client still waited)`,
        outcome: `AbortMultipartUpload sent after every part request ended (${late.length} part answers after it), then ListParts: ${checks.at(-1)!.status}; no upload and no parts left on the bucket`,
      });
    } finally {
      proxy.clearFaults();
      await engine.close();
    }
  });
}

test('Hoist stopping while a cancel waits for its parts on the wire: no abort is sent then, it stays owed, and the next start settles it', { timeout: 3 * 60_000 }, async () => {
  const key = 'wire/stopped.mov';
  proxy.reset();
  proxy.clearFaults();
  proxy.addFault({ operation: 'UploadPart', action: { kind: 'delay', ms: 5000 } });
  const { engine, job, uploadId, dir } = await uploading('abort-stop', key);
  const held = () => proxy.requests().filter((r) => r.operation === 'UploadPart' && r.answeredSeq === undefined && !r.incomplete).length;
  await until('parts on the wire', () => held() >= 3);
  const cancelling = engine.cancel(job.id);
  await until('the job cancelled', () => engine.getJob(job.id)!.state === 'cancelled');
  await engine.close();
  await cancelling;
  assert.equal(proxy.counts().AbortMultipartUpload, 0, 'no abort while its parts were on the wire');
  await until('every part request answered (or cut)', () => held() === 0, 30_000);
  proxy.clearFaults();
  const again = engineAt(dir).engine;
  try {
    assert.equal(owedItem(again, uploadId)?.state, 'owed', 'the abort is still owed after the stop');
    again.start();
    await until('the owed abort settled at the next start', () => owedItem(again, uploadId)?.state === 'done');
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('abort-stopped-mid-wait', {
      what: 'the engine closed (Ctrl-C) while a cancel waited for its parts held on the wire by the proxy (5 s)',
      outcome: 'the close did not wait for them: no AbortMultipartUpload was sent, the abort stayed owed, and the next start settled it; no upload left',
    });
  } finally {
    await again.close();
  }
});

/** A ListParts answer that still lists a part: what Amazon S3 may say when a part landed after the abort. */
function stillListsAPart(uploadId: string) {
  return ({ path: p }: { path: string }) => ({
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body:
      '<?xml version="1.0" encoding="UTF-8"?><ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${bucket}</Bucket><Key>${decodeURIComponent(p.split('/').slice(2).join('/'))}</Key><UploadId>${uploadId}</UploadId>` +
      '<PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>7</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>false</IsTruncated>' +
      `<Part><PartNumber>7</PartNumber><LastModified>${new Date().toISOString()}</LastModified><ETag>"0123456789abcdef0123456789abcdef"</ETag><Size>${5 * MiB}</Size></Part>` +
      '</ListPartsResult>',
  });
}

/** A ListMultipartUploads answer that still lists the upload. */
function stillListsTheUpload(key: string, uploadId: string) {
  return () => ({
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body:
      '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${bucket}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${key}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
      `<Upload><Key>${key}</Key><UploadId>${uploadId}</UploadId><Initiator><ID>hoist</ID><DisplayName>hoist</DisplayName></Initiator><Owner><ID>hoist</ID><DisplayName>hoist</DisplayName></Owner>` +
      `<StorageClass>STANDARD</StorageClass><Initiated>${new Date().toISOString()}</Initiated></Upload></ListMultipartUploadsResult>`,
  });
}

const denied = { kind: 'status', status: 403, code: 'AccessDenied' } as const;

type Uploading = Awaited<ReturnType<typeof uploading>>;

/** An upload with two parts acknowledged is cancelled with `faults` in place at the proxy; `check` looks at what followed. */
async function cancelledWith(label: string, key: string, faults: (uploadId: string) => FaultRule[], check: (u: Uploading) => Promise<void>): Promise<void> {
  proxy.reset();
  proxy.clearFaults();
  const u = await uploading(label, key);
  try {
    await until('parts acknowledged', () => doneParts(u.engine, u.job.id).length >= 2);
    for (const f of faults(u.uploadId)) proxy.addFault(f);
    assert.equal(await u.engine.cancel(u.job.id), true);
    await check(u);
  } finally {
    proxy.clearFaults();
    await u.engine.close();
  }
}

test('proxy playing Amazon S3: after the abort returned 204 a delayed part still arrived (ListParts lists it): the abort stays owed and is sent again until ListParts says NoSuchUpload', { timeout: 3 * 60_000 }, async () => {
  const stillListed = (uploadId: string): FaultRule[] => [{ operation: 'ListParts', times: 1, action: { kind: 'respond', answer: stillListsAPart(uploadId) } }];
  await cancelledWith('abort-late', 'late/part.mov', stillListed, async ({ engine, job, uploadId }) => {
    const [owed] = engine.owedAborts(job.id);
    assert.ok(owed, 'a 204 with the upload still listed does not settle the abort');
    assert.equal(owed.uploadId, uploadId);
    assert.match(owed.lastError ?? '', /still there after AbortMultipartUpload.*ListParts lists 1 part/);
    assert.ok(engine.events(job.id).some((e) => e.kind === 'abort-recheck'), 'the history says the abort is sent again');

    // The running engine's owed-work runner sends it again, and looks again.
    await until('the owed abort settled', () => owedItem(engine, uploadId)?.state === 'done');
    const item = owedItem(engine, uploadId)!;
    assert.ok(item.attempts >= 2, `tried ${item.attempts} times`);
    const seen = proxy.requests().filter((r) => uploadIdOf(r) === uploadId && (r.operation === 'AbortMultipartUpload' || r.operation === 'ListParts'));
    const order = seen.map((r) => `${r.operation} ${r.status}`);
    assert.deepEqual(order.slice(0, 2), ['AbortMultipartUpload 204', 'ListParts 200'], order.join(', '));
    assert.equal(order.filter((o) => o.startsWith('AbortMultipartUpload')).length, item.attempts, order.join(', '));
    assert.equal(order.at(-1), 'ListParts 404', 'settled only once ListParts said the upload is gone');
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('abort-late-part', {
      what: 'proxy playing Amazon S3: hoist cancel; AbortMultipartUpload 204, then the first ListParts still lists a part that landed after the abort',
      outcome: `the abort stayed owed (“${owed.lastError}”), was sent again by the owed-work runner and settled once ListParts said NoSuchUpload: ${order.join(', ')}`,
    });
  });
});

test('proxy playing Amazon S3: ListParts denied, so ListMultipartUploads decides: still listed the first time, the abort stays owed until the upload is absent', { timeout: 3 * 60_000 }, async () => {
  const key = 'late/listed.mov';
  const stillListed = (uploadId: string): FaultRule[] => [
    { operation: 'ListParts', action: denied },
    { operation: 'ListMultipartUploads', times: 1, action: { kind: 'respond', answer: stillListsTheUpload(key, uploadId) } },
  ];
  await cancelledWith('abort-listed', key, stillListed, async ({ engine, job, uploadId }) => {
    const [owed] = engine.owedAborts(job.id);
    assert.ok(owed, 'still listed after the abort: owed');
    assert.match(owed.lastError ?? '', /still there after AbortMultipartUpload.*ListMultipartUploads lists it/);
    await until('the owed abort settled', () => owedItem(engine, uploadId)?.state === 'done');
    const order = proxy.requests().filter((r) => r.operation === 'AbortMultipartUpload' || r.operation === 'ListMultipartUploads').map((r) => `${r.operation} ${r.status}`);
    assert.equal(order.at(-1), 'ListMultipartUploads 200', order.join(', '));
    assert.ok(order.filter((o) => o.startsWith('AbortMultipartUpload')).length >= 2, order.join(', '));
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('abort-late-listed', {
      what: 'proxy playing Amazon S3: ListParts denied; after the abort the first ListMultipartUploads still lists the upload',
      outcome: `owed (“${owed.lastError}”), sent again and settled once the upload was absent from ListMultipartUploads: ${order.join(', ')}`,
    });
  });
});

test('ListParts and ListMultipartUploads both denied: the 204 settles the abort, and the history says it could not be checked', { timeout: 3 * 60_000 }, async () => {
  const bothDenied = (): FaultRule[] => [{ operation: ['ListParts', 'ListMultipartUploads'], action: denied }];
  await cancelledWith('abort-unverified', 'late/unverified.mov', bothDenied, async ({ engine, job, uploadId }) => {
    assert.deepEqual(engine.owedAborts(job.id), []);
    const note = engine.events(job.id).find((e) => e.kind === 'abort-unverified');
    assert.ok(note, 'the history says the abort could not be checked');
    assert.match(note.message, /neither ListParts nor ListMultipartUploads/);
    assert.ok(proxy.requests().some((r) => r.operation === 'ListParts' && uploadIdOf(r) === uploadId && r.status === 403));
    proxy.clearFaults();
    assert.deepEqual(await listUploads(client, bucket), []);
    recordResult('abort-unverified', {
      what: 'hoist cancel with ListParts and ListMultipartUploads both denied (403 at the proxy)',
      outcome: `the abort's 204 settled it; the history says: “${note.message}”`,
    });
  });
});

test('a failed server-side copy leaves its upload to the owed queue: a refused abort is retried and settled, the fallback upload does not forget it', { timeout: 3 * 60_000 }, async () => {
  proxy.reset();
  proxy.clearFaults();
  const dir = tempDir('abort-copy');
  const watched = path.join(dir, 'ingest');
  fs.mkdirSync(watched);
  const rig = await startWatching(dir, watched, { endpoint: proxy.url, bucket, prefix: 'copy' }, {}, { copy: { multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 3 } });
  try {
    const file = await writeRandomFile(path.join(watched, 'clip.mxf'), 23 * MiB + 3);
    await until('the upload', () => rig.engine.listJobs().some((j) => j.key === 'copy/clip.mxf' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the upload to settle');
    proxy.reset();
    // The copy fails (a range refused), and so does the first abort of its upload.
    proxy.addFault({ operation: 'UploadPartCopy', times: 1, action: denied });
    proxy.addFault({ operation: 'AbortMultipartUpload', times: 1, action: denied });
    fs.renameSync(file, path.join(watched, 'clip-renamed.mxf'));
    await until('the fallback upload', () => rig.engine.listJobs().some((j) => j.key === 'copy/clip-renamed.mxf' && j.state === 'done'), 60_000);
    await untilQuiet(rig, 'the fallback upload to settle');
    const job = rig.engine.listJobs().find((j) => j.key === 'copy/clip-renamed.mxf')!;
    assert.ok(rig.engine.events(job.id).some((e) => e.kind === 'copy-failed'));
    const copyUpload = proxy.requests().find((r) => r.operation === 'UploadPartCopy')!;
    const copyUploadId = uploadIdOf(copyUpload)!;
    assert.ok(owedItem(rig.engine, copyUploadId), 'the copy’s upload is owed an abort');
    await until('the copy’s abort settled', () => owedItem(rig.engine, copyUploadId)?.state === 'done');
    const item = owedItem(rig.engine, copyUploadId)!;
    assert.ok(item.attempts >= 2, `the refused abort was tried again (${item.attempts} attempts)`);
    assert.equal(item.payload.jobId, job.id);
    assert.ok(rig.engine.events(job.id).some((e) => e.kind === 'abort-retry'));
    assert.ok(!(await listUploads(client, bucket)).some((u) => u.uploadId === copyUploadId), 'the copy’s upload is gone from the bucket');
    const aborts = proxy.requests().filter((r) => r.operation === 'AbortMultipartUpload' && uploadIdOf(r) === copyUploadId).map((r) => r.status);
    recordResult('abort-failed-copy', {
      what: 'a watched rename copied in UploadPartCopy ranges; the proxy refuses one range (403) and then the first AbortMultipartUpload of the copy’s upload (403)',
      outcome: `the copy fell back to an upload; its upload was owed an abort (answers ${aborts.join(', ')}), retried and settled after ${item.attempts} attempts; not on the bucket afterwards`,
    });
  } finally {
    proxy.clearFaults();
    await rig.stop();
  }
});
