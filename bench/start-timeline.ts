// Where one `hoist upload` process spends its wall before its first part byte and after its last:
// the clip through bin/hoist.js against the bench sink, the sink in this process recording each
// request's head and end, the child preloaded with bench/timeline-preload.js (its threads' starts and
// the packages they load, on the same epoch clock). Prints one line per mark, in ms from the spawn.
//   node build/bench/start-timeline.js [--size 2GiB] [--runs 3] [--build DIR]
// DIR: another build's directory (holding bin/ and build/), to compare two builds' timelines.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSize } from '../src-main/engine/upload/part-plan.js';
import { writeRandomFile } from './fixtures.js';
import { createSinkHandler } from './s3-sink.js';
import { createRawServer, type SinkRequest, type SinkResponse } from './sink-http.js';

const now = () => performance.timeOrigin + performance.now();

interface Mark {
  at: number;
  what: string;
}

/** What a request was, from its method and query (the S3 call it stands for). */
function callOf(req: SinkRequest): string {
  const url = new URL(req.url ?? '/', 'http://sink');
  const q = url.searchParams;
  if (req.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (req.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (req.method === 'PUT' && q.has('partNumber')) return `UploadPart ${q.get('partNumber')}`;
  return `${req.method} ${url.pathname.split('/').length > 2 ? 'object' : 'bucket'}${url.search ? ` ${url.search.slice(0, 30)}` : ''}`;
}

async function runOnce(file: string, buildDir: string, sinkUrl: string, bucket: string, marks: Mark[]): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-timeline-'));
  const markFile = path.join(work, 'marks.txt');
  const preload = new URL('./timeline-preload.js', import.meta.url).href;
  const t0 = now();
  marks.push({ at: t0, what: 'spawn' });
  const child = spawn(process.execPath, ['--import', preload, path.join(buildDir, 'bin/hoist.js'), '--db', path.join(work, 'hoist.db'), '--endpoint', sinkUrl, '--path-style', 'upload', '--bucket', bucket, file], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HOIST_TIMELINE_FILE: markFile, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' },
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  marks.push({ at: now(), what: `exit (code ${code})` });
  for (const line of fs.readFileSync(markFile, 'utf8').split('\n').filter(Boolean)) {
    const [at, ...what] = line.split(' ');
    marks.push({ at: Number(at), what: what.join(' ') });
  }
  fs.rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '2GiB' }, runs: { type: 'string', default: '1' }, build: { type: 'string' } } });
  const size = parseSize(values.size);
  const file = path.join(os.tmpdir(), `hoist-timeline-${size}.mov`);
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) await writeRandomFile(file, size);
  const buildDir = values.build ? path.resolve(values.build) : path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
  let marks: Mark[] = [];
  const handler = createSinkHandler();
  const { server, close } = createRawServer((req: SinkRequest, res: SinkResponse) => {
    const call = callOf(req);
    marks.push({ at: now(), what: `sink: ${call} head` });
    req.once('end', () => marks.push({ at: now(), what: `sink: ${call} body end` }));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let run = 0; run < Number(values.runs); run++) {
      marks = [];
      const bucket = `timeline-${run}-${Date.now()}`;
      await fetch(`${url}/${bucket}`, { method: 'PUT' });
      marks = [];
      await runOnce(file, buildDir, url, bucket, marks);
      marks.sort((a, b) => a.at - b.at);
      const spawnAt = marks.find((m) => m.what === 'spawn')!.at;
      process.stdout.write(`run ${run + 1} (load ${os.loadavg()[0]!.toFixed(1)})\n`);
      for (const m of marks) process.stdout.write(`${(m.at - spawnAt).toFixed(0).padStart(7)} ms  ${m.what}\n`);
    }
  } finally {
    await close();
  }
}

await main();
