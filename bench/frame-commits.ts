// What a small file's store writes cost the main thread as separate commits and as one (issue 12,
// docs/small-files.md "Fifth round"): N single-PutObject jobs queued in a fresh SQLite store, then
// each frame's four writes of the scheduler (claim, key decision with the integrity plan, the part's
// `sending` mark, the PutObject's end) made either as four commits, as main did, or inside one
// transaction, as a tick now writes them. Prints CPU µs per frame (this one thread: no workers here)
// and the WAL pages per frame (what the checkpoint thread then copies), for rounds alternated.
//   node build/bench/frame-commits.js [--frames 2000] [--rounds 3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src-main/engine/store/db.js';
import { JobStore } from '../src-main/engine/store/job-store.js';
import { benchDestination } from './destination.js';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const frames = Number(values.frames);
const plan = { checksumAlgorithm: 'crc32c' as const, contentMd5: false, checksumType: 'FULL_OBJECT' as const };
const proof = { etagVerified: true, integrity: 'ETag equals the MD5 of the bytes sent', proof: 'etag' as const, fullObjectChecksum: null };

function run(grouped: boolean): { cpuUs: number; walPages: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-frames-'));
  const { db } = openDatabase(path.join(dir, 'hoist.db'));
  db.pragma('wal_autocheckpoint = 0');
  const store = new JobStore(db);
  const d = store.upsertDestination(benchDestination('frames', 'http://127.0.0.1:1', 'frames'));
  const ids = store.atomically(() =>
    Array.from({ length: frames }, (_, i) =>
      store.insertJob(
        { destinationId: d.id, sourcePath: `/stills/IMG_${i}.jpg`, bucket: 'frames', key: `stills/IMG_${i}.jpg`, size: 1 << 20, mtimeMs: 1, inode: String(i), contentType: 'image/jpeg', mode: 'single', partSize: 1 << 20, priority: 'normal', checksumAlgorithm: null },
        [{ partNumber: 1, offset: 0, length: 1 << 20 }],
      ).id,
    ),
  );
  db.pragma('wal_checkpoint(TRUNCATE)');
  const frame = (id: number) => {
    store.transition(id, ['queued'], 'running');
    store.planIntegrity(id, plan, 'The server verifies flexible checksums.', { keySeen: '', outcome: 'created' });
    store.markPartSending(id, 1);
    store.finishSinglePut({ jobId: id, partNumber: 1, etag: 'e', md5Hex: 'e', checksum: 'c' }, { xxh64: '0123456789abcdef' }, 'Hashed (xxh64 0123456789abcdef).', { etag: 'e', versionId: null, message: 'Uploaded and verified.', proof });
  };
  const t0 = process.cpuUsage();
  for (const id of ids) {
    if (grouped) store.atomically(() => frame(id));
    else frame(id);
  }
  const t = process.cpuUsage(t0);
  const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { cpuUs: (t.user + t.system) / frames, walPages: wal!.log / frames };
}

for (let round = 0; round < Number(values.rounds); round++) {
  for (const grouped of round % 2 ? [true, false] : [false, true]) {
    const r = run(grouped);
    console.log(`${round} ${grouped ? 'one commit ' : 'four commits'}: ${r.cpuUs.toFixed(0)} CPU µs and ${r.walPages.toFixed(1)} WAL pages per frame, load ${os.loadavg()[0]!.toFixed(1)}`);
  }
}
