/**
 * Memory benchmark of the restic executor: agent RSS growth while the runner parses 100,000 JSON lines.
 *
 * A fake restic (a Node script) prints 100,000 `verbose_status` lines (one `status` every 100 lines) and a
 * summary, like `restic backup --json --verbose=2` over a large tree. The facade must stream them without
 * keeping stdout, so RSS growth should stay small and flat. Target: ≤ 20 MB.
 *
 * Standalone: `node --import tsx bench/stream-memory.ts`.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Restic } from '../src/main/core/restic/restic.js';
import { parseResticVersion } from '../src/main/core/restic/version.js';

const LINES = 100_000;

const FAKE = `
const lines = ${LINES};
let i = 0;
function verbose(n) {
  return JSON.stringify({ message_type: 'verbose_status', action: 'new', item: '/srv/data/dir' + (n % 977) + '/file-' + n + '.bin',
    duration: 0.000123, data_size: n * 17, data_size_in_repo: n * 11, metadata_size: 0, metadata_size_in_repo: 0, total_files: 0 }) + '\\n';
}
function status(n) {
  return JSON.stringify({ message_type: 'status', percent_done: n / lines, total_files: lines, files_done: n, total_bytes: lines * 4096,
    bytes_done: n * 4096, current_files: ['/srv/data/file-' + n + '.bin'] }) + '\\n';
}
function pump() {
  while (i < lines) {
    let chunk = '';
    for (let k = 0; k < 200 && i < lines; k++, i++) chunk += (i % 100 === 0 ? status(i) : '') + verbose(i);
    if (!process.stdout.write(chunk)) return process.stdout.once('drain', pump);
  }
  process.stdout.write(JSON.stringify({ message_type: 'summary', files_new: lines, files_changed: 0, files_unmodified: 0, dirs_new: 977,
    dirs_changed: 0, dirs_unmodified: 0, data_blobs: lines, tree_blobs: 977, data_added: 1, total_files_processed: lines,
    total_bytes_processed: lines * 4096, total_duration: 1.5, snapshot_id: 'ab'.repeat(32) }) + '\\n');
}
pump();
`;

/** One benchmark figure. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const mb = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;

/** Runs the benchmark and returns its figures. */
export default async function streamMemory(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-'));
  try {
    const js = join(dir, 'fake-restic.cjs');
    writeFileSync(js, FAKE);
    const bin = join(dir, 'restic');
    writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${js}" "$@"\n`);
    chmodSync(bin, 0o755);
    const version = parseResticVersion('restic 0.19.1 compiled with go1.26.4 on linux/amd64');
    if (!version) throw new Error('version');
    const restic = new Restic({
      binary: bin,
      version,
      repo: { url: join(dir, 'repo'), password: { kind: 'value', value: 'bench-password' }, env: {} },
      host: 'bench',
      cacheDir: null,
      retryLockMs: 0,
    });

    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let peakHeap = baseline.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 20);
    let progress = 0;
    const started = process.hrtime.bigint();
    const result = await restic.backup({ paths: ['/srv/data'], exclude: [], tags: [] }, { onEvent: (e) => e.type === 'progress' && progress++ });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    const end = process.memoryUsage();
    peakRss = Math.max(peakRss, end.rss);
    peakHeap = Math.max(peakHeap, end.heapUsed);
    if (result.outcome !== 'success' || result.stats?.filesNew !== LINES || progress !== LINES / 100) {
      throw new Error(`bench run went wrong: ${result.outcome} ${result.message}, ${progress} progress events`);
    }
    return [
      { name: 'restic stream: agent RSS growth while parsing 100k JSON lines', value: mb(peakRss - baseline.rss), unit: 'MB', target: '<= 20' },
      { name: 'restic stream: peak JS heap growth', value: mb(peakHeap - baseline.heapUsed), unit: 'MB' },
      { name: 'restic stream: lines parsed per second', value: Math.round((LINES * 1.01) / seconds), unit: 'lines/s' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await streamMemory()) console.log(`${f.name}: ${f.value} ${f.unit}${f.target ? ` (target ${f.target})` : ''}`);
}
