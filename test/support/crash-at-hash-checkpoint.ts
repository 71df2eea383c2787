// A child process that queues one file, works the queue, and kills itself with SIGKILL the moment
// its hash pass has saved its first checkpoint: a crash with no clean-up, at a known point.
// Usage: node crash-at-hash-checkpoint.js DIR DB ENDPOINT BUCKET FILE KEY CHECKPOINT_BYTES
// DB is the test's testDbPath(DIR) (a SQLite file or a PostgreSQL URL): the parent makes it, so the
// engine it opens after the kill reads the same queue.
import { testEngine } from './engine.js';
import { MiB } from './s3.js';

const [dir, dbPath, endpoint, bucket, file, key, every] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const { engine, dest } = testEngine(dir, { endpoint, bucket, partSize: 16 * MiB, singlePutThreshold: 0 }, { hashCheckpointBytes: Number(every) }, { dbPath });
engine.on('hash-checkpoint', () => process.kill(process.pid, 'SIGKILL'));
await engine.enqueue([file], { destination: dest, key, hashes: ['xxh64', 'xxh3'] });
engine.start();
