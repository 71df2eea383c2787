// What a rebuild after a damaged database did, in sentences a person reads once: on stderr for the
// command line and `hoist serve`, and as the desktop app's warning.
import path from 'node:path';
import type { AdoptionReport } from './remote/adopt.js';
import type { RebuildReport } from './store/rebuild.js';

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function rebuildSummary(r: RebuildReport, adoptions: readonly AdoptionReport[]): string[] {
  const from = [r.recoveryFile ? path.basename(r.recoveryFile) : '', r.salvagedRows > 0 ? `${count(r.salvagedRows, 'readable row')} of the damaged file` : '']
    .filter(Boolean)
    .join(' and ');
  const lines = [
    from
      ? `Rebuilt from ${from}: ${count(r.destinations, 'destination')}, ${count(r.folders, 'watched folder')}, ${count(r.jobs.length, 'unfinished job')}.`
      : 'Nothing could be rebuilt (no recovery file, and no readable row in the damaged file): the new database starts empty.',
  ];
  for (const j of r.jobs) lines.push(`Restored ${j.sourcePath} → ${j.key}${j.uploadId ? ` with its upload ${j.uploadId}` : ''}.`);
  for (const p of r.problems) lines.push(p);
  return [...lines, ...adoptionSummary(adoptions)];
}

export function adoptionSummary(adoptions: readonly AdoptionReport[]): string[] {
  const lines: string[] = [];
  for (const a of adoptions) {
    if (a.error) {
      lines.push(`Could not list the uploads in progress on s3://${a.bucket} (${a.error.code}: ${a.error.message}); \`hoist uploads adopt --bucket ${a.bucket}\` takes them up once it answers.`);
      continue;
    }
    for (const u of a.adopted) lines.push(`Took up the upload in progress of ${u.file} (s3://${a.bucket}/${u.key}, ${count(u.partsOnServer, 'part')} on the server, each checked against the file before it counts).`);
    if (a.left.length > 0) {
      lines.push(`Left ${count(a.left.length, 'upload')} in progress on s3://${a.bucket} as ${a.left.length === 1 ? 'it is' : 'they are'} (${[...new Set(a.left.map((l) => l.why))].join('; ')}); \`hoist uploads list --bucket ${a.bucket}\` shows ${a.left.length === 1 ? 'it' : 'them'}.`);
    }
  }
  return lines;
}
