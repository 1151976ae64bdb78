/**
 * `npm run bench`: runs every benchmark in this folder (or those named on the command line) and prints
 * their figures — ratios against a baseline wherever there is one — as a table, plus `bench/results.json`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One figure a benchmark reports. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The goal, as text (e.g. `≤ 1.05`). */
  readonly target?: string;
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results: Record<string, Figure[] | { error: string }> = {};
for (const file of files) {
  const name = basename(file, '.ts');
  process.stderr.write(`\n▶ ${name}\n`);
  try {
    const mod = (await import(`./${file}`)) as { default: () => Promise<Figure[]> };
    results[name] = await mod.default();
  } catch (e) {
    results[name] = { error: (e as Error).message };
  }
}

const rows: string[][] = [['benchmark', 'figure', 'value', 'target']];
for (const [bench, figs] of Object.entries(results)) {
  if ('error' in figs) rows.push([bench, 'ERROR', figs.error, '']);
  else for (const f of figs) rows.push([bench, f.name, `${round(f.value)} ${f.unit}`, f.target ?? '']);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
process.stdout.write('\n' + rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n') + '\n');
// A partial run (`npm run bench -- job-overhead`) updates its own entries and keeps the others' last figures.
const file = new URL('results.json', import.meta.url);
const previous = only.length > 0 && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as typeof results) : {};
writeFileSync(file, JSON.stringify({ ...previous, ...results }, null, 2) + '\n');

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3);
}
