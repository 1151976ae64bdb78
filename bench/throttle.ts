/**
 * Upload throttle: the same backup of 16 MiB of random data into a fresh repository, through the agent core
 * (`runNow`), with the policy's `throttle.limit_upload: 4MiB/s` and without. Alternated, medians.
 *
 * The limited backup should take about the data size over the limit (4 s): the figure "limited / expected"
 * is that ratio (target 0.9–1.5; restic's token bucket lets about one second's worth through at once, so a
 * little under 1 is normal). "limited / unlimited" is the slowdown, to compare with the expected factor
 * (expected time / unlimited time on this machine).
 *
 * Standalone: `node --import tsx bench/throttle.ts [rounds]`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createAgentCore } from '../src/main/core/agent/create.js';
import { benchRestic } from './cli-overhead.js';
import type { Figure } from './index.js';

const exec = promisify(execFile);
const DATA_MIB = 16;
const LIMIT_MIB_S = 4;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One backup of `src` into a fresh copy of the empty template repository; returns the wall time in ms. */
async function backupOnce(dir: string, restic: string, src: string, template: string, limited: boolean, n: number): Promise<number> {
  const run = join(dir, `run-${n}`);
  mkdirSync(run);
  cpSync(template, join(run, 'repo'), { recursive: true });
  const configPath = join(run, 'config.yaml');
  writeFileSync(
    configPath,
    [
      'agent: { id: bench, hostname: bench }',
      `restic: { binary: ${restic}, cache_dir: ${join(run, 'cache')} }`,
      `repository: { url: ${join(run, 'repo')}, password_file: ${join(dir, 'pass')} }`,
      'secrets: { backend: file }',
      `policies: { bench: { schedule: "0 3 * * *"${limited ? `, throttle: { limit_upload: ${LIMIT_MIB_S}MiB/s }` : ''} } }`,
      `backup: { sources: [ { path: ${src}, policy: bench } ] }`,
    ].join('\n'),
  );
  const core = await createAgentCore({ configPath, dataDir: join(run, 'data'), schedule: false });
  try {
    const t0 = performance.now();
    const [record] = await core.runNow({ kind: 'backup', source: src });
    const ms = performance.now() - t0;
    if (record?.outcome !== 'success') throw new Error(`backup ${record?.outcome ?? 'did not run'}: ${record?.message ?? ''}`);
    if ((record.stats?.dataAdded ?? 0) < DATA_MIB * 1024 * 1024)
      throw new Error(`only ${record.stats?.dataAdded ?? 0} bytes were added: not a fresh repository?`);
    return ms;
  } finally {
    await core.stop();
    rmSync(run, { recursive: true, force: true });
  }
}

export default async function throttle(rounds = 3): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-throttle-'));
  try {
    const restic = benchRestic();
    const src = join(dir, 'src');
    mkdirSync(src);
    for (let i = 0; i < DATA_MIB; i++) writeFileSync(join(src, `blob-${i}.bin`), randomBytes(1024 * 1024));
    writeFileSync(join(dir, 'pass'), 'bench-password\n', { mode: 0o600 });
    const template = join(dir, 'template');
    await exec(restic, ['-r', template, '--password-file', join(dir, 'pass'), '--no-cache', 'init']);
    const times = { limited: [] as number[], unlimited: [] as number[] };
    let n = 0;
    for (let r = 0; r < rounds; r++) {
      for (const limited of r % 2 === 0 ? [false, true] : [true, false]) {
        times[limited ? 'limited' : 'unlimited'].push(await backupOnce(dir, restic, src, template, limited, n++));
      }
    }
    const l = median(times.limited);
    const u = median(times.unlimited);
    const expected = (DATA_MIB / LIMIT_MIB_S) * 1000;
    process.stderr.write(
      `  ${DATA_MIB} MiB random data, limit ${LIMIT_MIB_S} MiB/s, restic ${restic}; limited ${times.limited.map((t) => t.toFixed(0)).join('/')} ms, unlimited ${times.unlimited.map((t) => t.toFixed(0)).join('/')} ms\n`,
    );
    return [
      { name: `limited (${LIMIT_MIB_S} MiB/s) / expected (${(expected / 1000).toFixed(1)} s)`, value: l / expected, unit: '×', target: '0.9–1.5' },
      { name: 'limited / unlimited', value: l / u, unit: '×', target: `≈ ${(expected / u).toFixed(1)} (expected / unlimited)` },
      { name: 'limited backup, median', value: l, unit: 'ms' },
      { name: 'unlimited backup, median', value: u, unit: 'ms' },
      { name: 'effective rate while limited', value: (DATA_MIB * 1000) / l, unit: 'MiB/s' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of await throttle(Number(process.argv[2] ?? 3))) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} ${f.target ?? ''}`);
}
