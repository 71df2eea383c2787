// Two (or more) builds of Hoist measured against each other on the same machine state: the same
// random file, one sink process, each run a fresh `run-variant.js` process of one build under GNU time
// (CPU of the process tree, peak RSS), the builds alternated and the order reversed every other round;
// medians at the end. On a shared machine CPU seconds are the figure to read (docs/performance.md).
// A build is a directory holding `build/` and `package.json` (a copy of this checkout's, or a worktree
// of another commit) below this checkout, so that `node_modules` resolves. Usage:
//   node build/bench/ab-builds.js [--rounds 6] [--size 2GiB | --files 2000x1MiB] [--integrity MODE] [--cold] DIR_A DIR_B …
// With --files, a folder of that many random files is uploaded (issue 12's small files) and each run
// prints CPU seconds of the process tree and files/s instead of CPU s/GiB and MB/s.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src-main/engine/upload/part-plan.js';
import { evictFromPageCache, parseCount, prepareCase } from './cases.js';
import { startSinkProcess, writeRandomFile } from './fixtures.js';
import { GiB } from './process-stats.js';
import type { VariantRequest, VariantResult } from './run-variant.js';

interface Row {
  treeCpu: number;
  /** Bytes read through read calls per byte sent (NaN from a build whose run-variant does not say). */
  rcharPerByte: number;
  inProcessCpu: number;
  rssMiB: number;
  mbPerSecond: number;
  load: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string', default: '6' }, size: { type: 'string', default: '2GiB' }, files: { type: 'string' }, integrity: { type: 'string' }, cold: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length < 2) throw new Error('give two build directories or more');
  const folder = values.files ? parseCount(values.files, parseSize) : null;
  const size = folder ? folder.count * folder.fileBytes : parseSize(values.size);
  // A folder's figures are per run (CPU s, files/s), a file's per GiB (CPU s/GiB, MB/s).
  const gib = folder ? 1 : size / GiB;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoist-ab-'));
  const prepared = folder ? await prepareCase({ id: 'files', ...folder }, work) : null;
  const file = prepared ? prepared.path : path.join(work, 'A001_C003.mov');
  if (!folder) await writeRandomFile(file, size);
  const unit = folder ? { cpu: 'CPU s', rate: 'files/s' } : { cpu: 'CPU s/GiB', rate: 'MB/s' };
  const sink = await startSinkProcess();
  const rows = new Map<string, Row[]>(positionals.map((b) => [b, []]));
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const dir of round % 2 ? [...positionals].reverse() : positionals) {
        const bucket = `ab-${round}-${Date.now()}`;
        await fetch(`${sink.url}/${bucket}`, { method: 'PUT' });
        const runDir = fs.mkdtempSync(path.join(work, 'run-'));
        const resultFile = path.join(runDir, 'result.json');
        const request: VariantRequest = {
          variant: 'hoist', file, size, endpoint: sink.url, bucket, key: folder ? 'files' : 'clip/A001_C003.mov', partSize: 0, concurrency: 0, workDir: runDir, engineDefaults: true, sdkChecksums: true, resultFile,
          ...(values.integrity ? { integrity: values.integrity } : {}),
        };
        // --cold: every file read from the device, not the page cache (the part worker's direct reads then block its thread).
        if (values.cold) evictFromPageCache(prepared ? prepared.files : [file]);
        const load = os.loadavg()[0]!;
        const run = spawnSync('/usr/bin/time', ['-f', '%U %S %M %e', process.execPath, path.join(dir, 'build/bench/run-variant.js'), JSON.stringify(request)], {
          encoding: 'utf8',
          env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        });
        if (run.status !== 0) throw new Error(`${dir}: the run failed\n${run.stdout}${run.stderr}`);
        const [user, sys, maxRssKiB, wall] = run.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number, number];
        const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as VariantResult;
        const row: Row = { treeCpu: (user + sys) / gib, rcharPerByte: (result.rcharBytes ?? NaN) / size, inProcessCpu: result.cpuSeconds / gib, rssMiB: maxRssKiB / 1024, mbPerSecond: folder ? folder.count / wall : size / 1e6 / wall, load };
        rows.get(dir)!.push(row);
        console.log(`${round} ${dir}: tree ${row.treeCpu.toFixed(2)}, in-process ${row.inProcessCpu.toFixed(2)} ${unit.cpu}, peak RSS ${row.rssMiB.toFixed(0)} MiB, ${row.mbPerSecond.toFixed(0)} ${unit.rate}, rchar ${row.rcharPerByte.toFixed(2)}/byte, load ${load.toFixed(1)}`);
        fs.rmSync(runDir, { recursive: true, force: true });
      }
    }
  } finally {
    sink.child.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
  for (const [dir, r] of rows) {
    const m = (f: (x: Row) => number) => median(r.map(f));
    console.log(`median ${dir}: tree ${m((x) => x.treeCpu).toFixed(2)}, in-process ${m((x) => x.inProcessCpu).toFixed(2)} ${unit.cpu}, peak RSS ${m((x) => x.rssMiB).toFixed(0)} MiB, ${m((x) => x.mbPerSecond).toFixed(0)} ${unit.rate}, rchar ${m((x) => x.rcharPerByte).toFixed(2)}/byte`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) process.exitCode = await main(process.argv.slice(2));
