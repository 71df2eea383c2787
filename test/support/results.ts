// Tests record what they tried and what happened; scripts/reliability-table.mjs renders docs/reliability.md's table from them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** build/reliability-results/, next to the compiled tests. */
export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../reliability-results');

export function recordResult(id: string, result: { what: string; outcome: string }): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${id}.json`), JSON.stringify({ id, ...result, at: new Date().toISOString() }, null, 2) + '\n');
}
