// Renders the measured results the reliability tests wrote (build/reliability-results/*.json) into docs/reliability.md.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = path.join(root, 'build', 'reliability-results');
const doc = path.join(root, 'docs', 'reliability.md');
const results = fs.existsSync(dir)
  ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
  : [];
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = ['| result | what was tried | what happened | measured |', '|---|---|---|---|', ...results.map((r) => `| ${r.id} | ${cell(r.what)} | ${cell(r.outcome)} | ${r.at.slice(0, 10)} |`)].join('\n');
const text = fs.readFileSync(doc, 'utf8');
const re = /(<!-- results:begin[^>]*-->)[\s\S]*?(<!-- results:end -->)/;
if (!re.test(text)) throw new Error('docs/reliability.md lacks the results markers');
fs.writeFileSync(doc, text.replace(re, `$1\n${table}\n$2`));
console.log(`${results.length} results written to docs/reliability.md`);
