/**
 * Executor overhead against bare restic on the same 20,000-file tree, alternated, medians:
 *  - `restic-agent backup` (a whole CLI process: Node start-up, config, state DB, restic) vs `restic backup`,
 *    incremental (1 % of the files changed between rounds) and initial (a fresh repository each round);
 *  - the running agent's executor (`runNow` in a started core: what the daemon and the tray app do) vs bare restic.
 * Target: ≤ 1.05.
 *
 * Standalone: `node --import tsx bench/cli-overhead.ts [rounds]`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createAgentCore } from '../src/main/core/agent/create.js';
import type { Figure } from './index.js';

const exec = promisify(execFile);
const FILES = 20_000;
const CLI = fileURLToPath(new URL('../bin/restic-agent.js', import.meta.url));
const SID = fileURLToPath(new URL('../vendor/restic-sid/usr/bin/restic', import.meta.url));

/** The newest restic available (or `BENCH_RESTIC`): the agent's per-run overhead is what is measured, not restic's. */
export function benchRestic(): string {
  return process.env.BENCH_RESTIC ?? (existsSync(SID) ? SID : 'restic');
}

function makeTree(root: string): void {
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `d${i % 200}`);
    if (i < 200) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `file ${i} `.repeat(50 + (i % 300)));
  }
}

function touch(root: string, round: number): void {
  for (let i = round; i < FILES; i += 100) writeFileSync(join(root, `d${i % 200}`, `f${i}.txt`), `changed in round ${round} `.repeat(40));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface World {
  readonly dir: string;
  readonly restic: string;
  readonly tree: string;
  env(repo: string): NodeJS.ProcessEnv;
  config(repo: string): string;
  bare(repo: string): Promise<unknown>;
  agent(repo: string): Promise<unknown>;
}

function world(dir: string): World {
  const restic = benchRestic();
  const tree = join(dir, 'tree');
  const pass = join(dir, 'pass');
  writeFileSync(pass, 'bench-password\n', { mode: 0o600 });
  const env = (repo: string): NodeJS.ProcessEnv => ({
    ...process.env,
    RESTIC_REPOSITORY: repo,
    RESTIC_PASSWORD_FILE: pass,
    RESTIC_CACHE_DIR: join(dir, 'cache'),
    RESTIC_PROGRESS_FPS: '1',
  });
  const config = (repo: string): string => {
    const file = join(dir, `config-${repo.split('/').pop()}.yaml`);
    writeFileSync(
      file,
      [
        'agent: { id: bench, hostname: bench }',
        `restic: { binary: ${restic}, cache_dir: ${join(dir, 'cache')} }`,
        `repository: { url: ${repo}, password_file: ${pass} }`,
        'secrets: { backend: file }',
        'policies: { bench: { schedule: "0 3 * * *" } }',
        `backup: { sources: [ { path: ${tree}, policy: bench } ] }`,
      ].join('\n'),
    );
    return file;
  };
  return {
    dir,
    restic,
    tree,
    env,
    config,
    bare: (repo) =>
      exec(restic, ['--json', 'backup', '--host', 'bench', '--tag', 'agent:bench', '--tag', 'policy:bench', '--', tree], {
        env: env(repo),
        maxBuffer: 1 << 28,
      }),
    agent: (repo) =>
      exec(process.execPath, [CLI, '--config', config(repo), '--quiet', 'backup'], { env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') } }),
  };
}

export default async function cliOverhead(rounds = 5): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-'));
  try {
    const w = world(dir);
    makeTree(w.tree);
    const repo = join(dir, 'repo');
    await exec(w.restic, ['init'], { env: w.env(repo) });
    await w.bare(repo); // fills the repository and the cache for both
    const inc = { bare: [] as number[], agent: [] as number[], core: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 === 0 ? (['bare', 'agent'] as const) : (['agent', 'bare'] as const)) {
        touch(w.tree, r * 3 + (which === 'bare' ? 0 : 1));
        inc[which].push(await timed(() => (which === 'bare' ? w.bare(repo) : w.agent(repo))));
      }
    }
    // The running agent: one core, started once, like the daemon and the tray app.
    const core = await createAgentCore({ configPath: w.config(repo), dataDir: join(dir, 'core-data'), schedule: false });
    try {
      for (let r = 0; r < rounds; r++) {
        touch(w.tree, 100 + r);
        inc.core.push(await timed(() => core.runNow({ kind: 'backup', source: w.tree })));
        touch(w.tree, 200 + r);
        inc.bare.push(await timed(() => w.bare(repo)));
      }
    } finally {
      await core.stop();
    }
    const initial = { bare: [] as number[], agent: [] as number[] };
    for (let r = 0; r < Math.max(3, Math.ceil(rounds / 2)); r++) {
      for (const which of r % 2 === 0 ? (['bare', 'agent'] as const) : (['agent', 'bare'] as const)) {
        const fresh = join(dir, `fresh-${which}-${r}`);
        await exec(w.restic, ['init'], { env: w.env(fresh) });
        initial[which].push(await timed(() => (which === 'bare' ? w.bare(fresh) : w.agent(fresh))));
        rmSync(fresh, { recursive: true, force: true });
      }
    }
    const ms = (xs: number[]): string => xs.map((t) => t.toFixed(0)).join('/');
    process.stderr.write(
      `  ${FILES} files, ${w.restic}\n  incremental: bare ${ms(inc.bare)} ms, CLI ${ms(inc.agent)} ms, core ${ms(inc.core)} ms\n  initial: bare ${ms(initial.bare)} ms, CLI ${ms(initial.agent)} ms\n`,
    );
    const b = median(inc.bare);
    return [
      { name: 'running agent executor / bare restic (incremental, median)', value: median(inc.core) / b, unit: '×', target: '≤ 1.05' },
      { name: 'restic-agent backup CLI / bare restic (incremental, median)', value: median(inc.agent) / b, unit: '×', target: '≤ 1.05' },
      { name: 'restic-agent backup CLI / bare restic (initial, median)', value: median(initial.agent) / median(initial.bare), unit: '×', target: '≤ 1.05' },
      { name: 'bare restic backup, incremental median', value: b, unit: 'ms' },
      { name: 'CLI process overhead per run (incremental)', value: median(inc.agent) - b, unit: 'ms' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of await cliOverhead(Number(process.argv[2] ?? 5))) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} ${f.target ?? ''}`);
}
