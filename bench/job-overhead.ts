/**
 * The agent's whole backup job — `backup` then `forget`, as the built-in `daily` policy runs it (no prune: that is
 * the repository's weekly maintenance) — against the same two bare restic commands run by hand, on the same tree
 * and repository, alternated, medians:
 *  - the running agent (`runNow` in a started core: the daemon and the tray app), target ≤ 1.05;
 *  - `restic-agent backup` as a fresh process, target ≤ 1.10;
 * on a 20,000-file tree (`rounds` rounds, ≥ 5) and once on a 200,000-file tree (`BENCH_BIG_FILES`, 0 = skip), to show
 * the ratio holds as the tree grows. Plus the idle daemon: `restic-agent run` standalone for `BENCH_IDLE_WINDOW_S`
 * (default 300 s): RSS and CPU time.
 *
 * Standalone: `node --import tsx bench/job-overhead.ts [rounds]`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createAgentCore } from '../src/main/core/agent/create.js';
import { benchRestic } from './cli-overhead.js';
import type { Figure } from './index.js';

const exec = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/restic-agent.js', import.meta.url));
/** The built-in `daily` policy's retention, as `forget` flags. */
const DAILY = ['--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12', '--keep-yearly', '3'];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function makeTree(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${i % 500}`);
    if (i < 500) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `file ${i} `.repeat(20 + (i % 200)));
  }
}

function touch(root: string, files: number, round: number): void {
  for (let i = round; i < files; i += 100) writeFileSync(join(root, `d${i % 500}`, `f${i}.txt`), `changed in round ${round} `.repeat(30));
}

interface Side {
  bare(): Promise<unknown>;
  cli(): Promise<unknown>;
  config: string;
  tree: string;
}

async function setup(dir: string, name: string, files: number): Promise<Side> {
  const restic = benchRestic();
  const tree = join(dir, `tree-${name}`);
  const repo = join(dir, `repo-${name}`);
  const pass = join(dir, 'pass');
  writeFileSync(pass, 'bench-password\n', { mode: 0o600 });
  makeTree(tree, files);
  const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: pass, RESTIC_CACHE_DIR: join(dir, 'cache'), RESTIC_PROGRESS_FPS: '1' };
  const config = join(dir, `config-${name}.yaml`);
  writeFileSync(
    config,
    [
      'agent: { id: bench, hostname: bench }',
      `restic: { binary: ${restic}, cache_dir: ${join(dir, 'cache')} }`,
      `repository: { url: ${repo}, password_file: ${pass} }`,
      'secrets: { backend: file }',
      `backup: { sources: [ { path: ${tree}, policy: daily } ] }`,
    ].join('\n') + '\n',
  );
  await exec(restic, ['init'], { env });
  const bare = async (): Promise<void> => {
    await exec(restic, ['--json', 'backup', '--host', 'bench', '--tag', 'agent:bench', '--tag', 'policy:daily', '--', tree], { env, maxBuffer: 1 << 28 });
    await exec(restic, ['--json', 'forget', ...DAILY, '--host', 'bench', '--tag', 'agent:bench', '--path', tree], { env, maxBuffer: 1 << 28 });
  };
  await bare(); // fills the repository and the cache for both sides
  const cli = () =>
    exec(process.execPath, [CLI, '--config', config, '--quiet', 'backup'], { env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, `data-${name}`) } });
  return { bare, cli, config, tree };
}

/** Alternated rounds of bare / CLI / running core; returns the medians. */
async function compare(dir: string, s: Side, files: number, rounds: number): Promise<{ bare: number; cli: number; core: number; raw: string }> {
  const t = { bare: [] as number[], cli: [] as number[], core: [] as number[] };
  const core = await createAgentCore({ configPath: s.config, dataDir: join(dir, `core-${files}`), schedule: false });
  try {
    for (let r = 0; r < rounds; r++) {
      const order = (['bare', 'cli', 'core'] as const).map((_, i, a) => a[(i + r) % 3]!);
      for (const which of order) {
        touch(s.tree, files, r * 3 + order.indexOf(which));
        t[which].push(await timed(() => (which === 'bare' ? s.bare() : which === 'cli' ? s.cli() : core.runNow({ kind: 'backup', source: s.tree }))));
      }
    }
  } finally {
    await core.stop();
  }
  const ms = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join('/');
  return { bare: median(t.bare), cli: median(t.cli), core: median(t.core), raw: `bare ${ms(t.bare)} ms, CLI ${ms(t.cli)} ms, core ${ms(t.core)} ms` };
}

/** RSS (KiB) and CPU time (ms) of a process, from /proc. */
function sample(pid: number): { rssKiB: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssKiB, cpuMs: (ticks * 1000) / 100 };
}

async function idle(dir: string, config: string, windowS: number): Promise<{ rssMiB: number; peakMiB: number; cpuS: number }> {
  const proc = spawn(process.execPath, [CLI, '--config', config, '--quiet', 'run'], {
    env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data-idle') },
    stdio: 'ignore',
  });
  try {
    // Let start-up (restic version, freshness listing) settle before measuring the idle window.
    await new Promise((r) => setTimeout(r, 10_000));
    const start = sample(proc.pid!);
    let peak = start.rssKiB;
    let last = start;
    for (let s = 0; s < windowS; s += 5) {
      await new Promise((r) => setTimeout(r, 5_000));
      last = sample(proc.pid!);
      peak = Math.max(peak, last.rssKiB);
    }
    return { rssMiB: last.rssKiB / 1024, peakMiB: peak / 1024, cpuS: (last.cpuMs - start.cpuMs) / 1000 };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

export default async function jobOverhead(rounds = 5): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-job-'));
  try {
    const small = await setup(dir, 'small', 20_000);
    const a = await compare(dir, small, 20_000, Math.max(5, rounds));
    process.stderr.write(`  20,000 files, ${benchRestic()}: ${a.raw}\n`);
    const figures: Figure[] = [
      { name: 'backup job (backup + forget): running agent / bare restic, 20k files (median)', value: a.core / a.bare, unit: '×', target: '≤ 1.05' },
      { name: 'backup job (backup + forget): restic-agent backup CLI / bare restic, 20k files (median)', value: a.cli / a.bare, unit: '×', target: '≤ 1.10' },
      { name: 'bare backup + forget, 20k files (median)', value: a.bare, unit: 'ms' },
    ];
    const bigFiles = Number(process.env.BENCH_BIG_FILES ?? 200_000);
    if (bigFiles > 0) {
      const big = await setup(dir, 'big', bigFiles);
      const b = await compare(dir, big, bigFiles, 1);
      process.stderr.write(`  ${bigFiles} files: ${b.raw}\n`);
      figures.push(
        { name: `backup job: running agent / bare restic, ${bigFiles / 1000}k files (once)`, value: b.core / b.bare, unit: '×', target: '≤ 1.05' },
        { name: `backup job: CLI / bare restic, ${bigFiles / 1000}k files (once)`, value: b.cli / b.bare, unit: '×', target: '≤ 1.10' },
      );
    }
    const windowS = Number(process.env.BENCH_IDLE_WINDOW_S ?? 300);
    const i = await idle(dir, small.config, windowS);
    figures.push(
      { name: `idle standalone daemon RSS after ${windowS} s`, value: i.rssMiB, unit: 'MiB', target: '≤ 60' },
      { name: `idle standalone daemon peak RSS over ${windowS} s`, value: i.peakMiB, unit: 'MiB' },
      { name: `idle standalone daemon CPU over ${windowS} s`, value: i.cpuS, unit: 's' },
    );
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of await jobOverhead(Number(process.argv[2] ?? 5))) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} ${f.target ?? ''}`);
}
