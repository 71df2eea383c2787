// Named destinations, folders that send to several of them, and deleting sources only after every
// destination verified them (issue 8): the real `hoist` command in child processes, real folders,
// the real S3 server, and the fault proxy standing in for a destination that cannot be reached.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Destination, Job, JobEvent } from '../../shared/types.js';
import { JobStore } from '../../src-main/engine/store/job-store.js';
import { openDatabase } from '../../src-main/engine/store/db.js';
import { until } from '../support/engine.js';
import { hoist, startHoist, type CliResult } from '../support/hoist-cli.js';
import { s3Fixture } from '../support/s3-fixture.js';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.js';
import { MiB, s3Env, sha256OfFile, sha256OfObject, tempDir, writeRandomFile } from '../support/s3.js';

const { client, bucket, newBucket } = await s3Fixture('dest-near');
const buckets = [bucket, await newBucket('dest-far')];

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  return r;
}

async function jobsOf(db: string[]): Promise<Job[]> {
  return (JSON.parse(ok(await hoist([...db, 'jobs', '--json'])).stdout) as { jobs: Job[] }).jobs;
}

async function historyOf(db: string[], id: number): Promise<JobEvent[]> {
  return (JSON.parse(ok(await hoist([...db, 'job', String(id), '--json'])).stdout) as { history: JobEvent[] }).history;
}

/** Jobs keep retrying an unreachable destination (rather than failing for good) until it is back. */
const PATIENT = { HOIST_JOB_ATTEMPTS: '100000', HOIST_RETRY_BASE_MS: '50', HOIST_RETRY_MAX_MS: '400' };

test('two destinations, --after delete: nothing is deleted while one is unreachable, nor after a restart; once it is back, both verify and the files go', async () => {
  const [near, far] = buckets as [string, string];
  const dir = tempDir('two-dests');
  const watched = path.join(dir, 'offload');
  fs.mkdirSync(path.join(watched, 'A001'), { recursive: true });
  const db = ['--db', path.join(dir, 'hoist.db')];
  const proxy: S3Proxy = await startS3Proxy(s3Env().endpoint);
  const farPort = proxy.port;
  ok(await hoist([...db, 'destinations', 'add', 'near', '--bucket', near, '--endpoint', s3Env().endpoint, '--path-style']));
  ok(await hoist([...db, 'destinations', 'add', 'far', '--bucket', far, '--endpoint', proxy.url, '--path-style', '--prefix', 'copy2']));
  const added = ok(await hoist([...db, 'folders', 'add', watched, '--to', 'near', '--to', 'far', '--after', 'delete', '--stable-for', '400ms', '--single-put-threshold', '5MiB', '--json']));
  const folder = (JSON.parse(added.stdout) as { folder: { destinations: string[]; after: string } }).folder;
  assert.deepEqual([folder.destinations, folder.after], [['near', 'far'], 'delete']);

  await proxy.close(); // `far` cannot be reached: connections are refused
  const files = [await writeRandomFile(path.join(watched, 'A001', 'C001.mov'), 12 * MiB + 7), await writeRandomFile(path.join(watched, 'notes.wav'), 300_000)];
  const sums = await Promise.all(files.map(sha256OfFile));
  const relPaths = files.map((f) => path.relative(watched, f).split(path.sep).join('/'));

  let run = startHoist([...db, 'watch'], PATIENT);
  let proxyBack: S3Proxy | null = null;
  try {
    const firstJobs = await until('near to verify both files while far keeps failing', async () => {
      const jobs = await jobsOf(db);
      const nearDone = jobs.filter((j) => j.destination === 'near' && j.state === 'done').length === 2;
      const farFailing = jobs.filter((j) => j.destination === 'far' && j.error?.code.startsWith('net.')).length === 2;
      return nearDone && farFailing && jobs;
    });
    assert.equal(firstJobs.length, 4, 'one job per file and destination');
    for (const f of files) assert.ok(fs.existsSync(f), `${f} is kept: far has not verified it`);
    run.child.kill('SIGINT');
    assert.equal((await run.done).code, 130);
    for (const f of files) assert.ok(fs.existsSync(f), `${f} survives the stop`);

    run = startHoist([...db, 'watch'], PATIENT);
    const retriesBefore = (await historyOf(db, firstJobs.find((j) => j.destination === 'far')!.id)).filter((e) => e.kind === 'retry').length;
    await until('far to be tried again after the restart', async () => (await historyOf(db, firstJobs.find((j) => j.destination === 'far')!.id)).filter((e) => e.kind === 'retry').length > retriesBefore);
    for (const f of files) assert.ok(fs.existsSync(f), `${f} is still kept after the restart`);

    proxyBack = await startS3Proxy(s3Env().endpoint, { port: farPort }); // far is reachable again
    await until('both files to be deleted once far has them too', () => files.every((f) => !fs.existsSync(f)), 120_000);
  } finally {
    run.child.kill('SIGINT');
    await run.done;
    await proxyBack?.close();
  }

  const jobs = await jobsOf(db);
  assert.deepEqual(jobs.map((j) => [j.destination, j.state, j.priority]).sort(), [['far', 'done', 'normal'], ['far', 'done', 'normal'], ['near', 'done', 'normal'], ['near', 'done', 'normal']]);
  for (const [i, rel] of relPaths.entries()) {
    assert.equal(await sha256OfObject(client, near, rel), sums[i], `near holds ${rel}`);
    assert.equal(await sha256OfObject(client, far, `copy2/${rel}`), sums[i], `far holds ${rel}`);
    const mine = jobs.filter((j) => j.sourcePath === files[i]);
    assert.equal(mine.length, 2);
    const lastVerified = Math.max(...mine.map((j) => Date.parse(j.finishedAt!)));
    for (const j of mine) {
      const deleted = (await historyOf(db, j.id)).filter((e) => e.kind === 'source-deleted');
      assert.equal(deleted.length, 1, `job ${j.id} records the deletion`);
      assert.match(deleted[0]!.message, /every destination holds it, verified \((near, far|far, near)\)/);
      assert.ok(Date.parse(deleted[0]!.at) >= lastVerified, 'deleted only after the last destination verified it');
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('each named destination has its own credentials (AWS profiles); the CLI keeps no secrets and refuses sealed ones; remove is refused while in use', async () => {
  const [bucket] = buckets as [string];
  const dir = tempDir('dest-creds');
  const env = s3Env();
  const credentialsFile = path.join(dir, 'credentials');
  fs.writeFileSync(credentialsFile, `[good]\naws_access_key_id = ${env.accessKeyId}\naws_secret_access_key = ${env.secretAccessKey}\n\n[bad]\naws_access_key_id = ${env.accessKeyId}\naws_secret_access_key = not-the-secret\n`);
  // Only the profiles can supply credentials: nothing comes from the environment.
  const profilesOnly = { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: path.join(dir, 'config'), AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
  const db = ['--db', path.join(dir, 'hoist.db'), '--endpoint', env.endpoint, '--path-style'];

  const missing = await hoist([...db, 'destinations', 'add', 'nowhere', '--bucket', bucket, '--profile', 'no-such-profile'], profilesOnly);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /config\.invalid: There is no AWS profile "no-such-profile"/);
  ok(await hoist([...db, 'destinations', 'add', 'good', '--bucket', bucket, '--profile', 'good', '--prefix', 'good'], profilesOnly));
  ok(await hoist([...db, 'destinations', 'add', 'bad', '--bucket', bucket, '--profile', 'bad', '--prefix', 'bad'], profilesOnly));
  const again = await hoist([...db, 'destinations', 'add', 'good', '--bucket', bucket], profilesOnly);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /A destination named "good" already exists/);
  const listed = JSON.parse(ok(await hoist([...db, 'destinations', 'list', '--json'], profilesOnly)).stdout) as { destinations: Array<Destination & { folders: number[] }> };
  assert.deepEqual(listed.destinations.map((d) => [d.name, d.bucket, d.prefix, d.profile, d.credentials, d.endpoint]), [
    ['good', bucket, 'good', 'good', 'chain', env.endpoint],
    ['bad', bucket, 'bad', 'bad', 'chain', env.endpoint],
  ]);
  assert.match(ok(await hoist([...db, 'destinations', 'list'], profilesOnly)).stdout, /^good {2}s3:\/\/.*credentials: AWS profile good/m);

  const clip = await writeRandomFile(path.join(dir, 'clip.mov'), 2 * MiB);
  const sent = ok(await hoist([...db, 'upload', clip, '--to', 'good', '--priority', 'high', '--json'], profilesOnly));
  const [job] = (JSON.parse(sent.stdout) as { jobs: Job[] }).jobs;
  assert.deepEqual([job!.destination, job!.priority, job!.state, job!.key], ['good', 'high', 'done', 'good/clip.mov']);
  assert.equal(await sha256OfObject(client, bucket, 'good/clip.mov'), await sha256OfFile(clip));
  assert.match(ok(await hoist([...db, 'jobs', 'priority', String(job!.id), 'low'], profilesOnly)).stderr, /is now low priority/);
  assert.equal((await jobsOf(db)).find((j) => j.id === job!.id)?.priority, 'low');
  assert.equal((await hoist([...db, 'jobs', 'priority', String(job!.id), 'urgent'], profilesOnly)).code, 2);
  const refused = await hoist([...db, 'upload', clip, '--to', 'bad', '--json'], profilesOnly);
  assert.equal(refused.code, 1, 'the bad profile is used for that destination, not the good one');
  const failed = (JSON.parse(refused.stdout) as { jobs: Job[] }).jobs[0]!;
  assert.equal(failed.error?.code, 'auth.invalid-credentials');
  const nope = await hoist([...db, 'upload', clip, '--to', 'nope'], profilesOnly);
  assert.equal(nope.code, 2);
  assert.match(nope.stderr, /There is no destination named "nope"/);

  const watched = path.join(dir, 'dailies');
  fs.mkdirSync(watched);
  const folder = JSON.parse(ok(await hoist([...db, 'folders', 'add', watched, '--to', 'bad', '--json'], profilesOnly)).stdout) as { folder: { id: number } };
  const inUse = await hoist([...db, 'destinations', 'remove', 'bad'], profilesOnly);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, new RegExp(`config\\.in-use: Destination "bad" cannot be removed yet: watched folder\\(s\\) ${folder.folder.id} \\(${watched.replace(/[/\\]/g, '\\$&')}\\) send to it: remove them first; job\\(s\\) ${failed.id} are not finished`));
  ok(await hoist([...db, 'folders', 'remove', String(folder.folder.id), '--unfinished', 'keep'], profilesOnly));
  ok(await hoist([...db, 'cancel', String(failed.id)], profilesOnly));
  ok(await hoist([...db, 'destinations', 'remove', 'bad'], profilesOnly));
  assert.deepEqual((await jobsOf([...db])).map((j) => j.destination), ['good'], 'its finished jobs went with it');

  // Keys the desktop app sealed cannot be opened here: refused, never replaced by other credentials.
  const store = new JobStore(openDatabase(path.join(dir, 'hoist.db')).db);
  store.setCredentialOrigin(store.getDestinationByName('good')!.id, 'saved');
  store.db.close();
  const sealed = await hoist([...db, 'upload', clip, '--to', 'good', '--key', 'sealed.mov', '--json']);
  assert.equal(sealed.code, 1);
  assert.equal((JSON.parse(sealed.stdout) as { jobs: Job[] }).jobs[0]!.error?.code, 'auth.credentials-sealed');
  const keep = await hoist([...db, 'destinations', 'remove', 'good']);
  assert.match(keep.stderr, /config\.in-use: Destination "good" keeps credentials sealed by the desktop app; remove it in the app/);
  fs.rmSync(dir, { recursive: true, force: true });
});
