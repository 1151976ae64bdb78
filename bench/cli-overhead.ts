/**
 * Executor overhead: `restic-agent backup` against bare `restic backup` of the same 20,000-file tree into the
 * same repository, alternated, medians. Between rounds 1 % of the files change, so every backup does real
 * work. Target: ratio ≤ 1.05.
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
import type { Figure } from './index.js';

const exec = promisify(execFile);
const FILES = 20_000;
const CLI = fileURLToPath(new URL('../bin/restic-agent.js', import.meta.url));
const SID = fileURLToPath(new URL('../vendor/restic-sid/usr/bin/restic', import.meta.url));

/** The newest restic available: the agent's per-run overhead is what is measured, not restic's. */
export function benchRestic(): string {
  return existsSync(SID) ? SID : 'restic';
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

export default async function cliOverhead(rounds = 5): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-'));
  try {
    const restic = benchRestic();
    const tree = join(dir, 'tree');
    makeTree(tree);
    const env = {
      ...process.env,
      RESTIC_REPOSITORY: join(dir, 'repo'),
      RESTIC_PASSWORD_FILE: join(dir, 'pass'),
      RESTIC_CACHE_DIR: join(dir, 'cache'),
      RESTIC_PROGRESS_FPS: '1',
    };
    writeFileSync(env.RESTIC_PASSWORD_FILE, 'bench-password\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'config.yaml'),
      [
        'agent: { id: bench, hostname: bench }',
        `restic: { binary: ${restic}, cache_dir: ${env.RESTIC_CACHE_DIR} }`,
        `repository: { url: ${env.RESTIC_REPOSITORY}, password_file: ${env.RESTIC_PASSWORD_FILE} }`,
        'secrets: { backend: file }',
        'policies: { bench: { schedule: "0 3 * * *" } }',
        `backup: { sources: [ { path: ${tree}, policy: bench } ] }`,
      ].join('\n'),
    );
    await exec(restic, ['init'], { env });
    const bare = (): Promise<unknown> =>
      exec(restic, ['--json', 'backup', '--host', 'bench', '--tag', 'agent:bench', '--tag', 'policy:bench', '--', tree], { env, maxBuffer: 1 << 28 });
    const agent = (): Promise<unknown> =>
      exec(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), '--quiet', 'backup'], {
        env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') },
      });
    await bare(); // initial backup: fills the repository and the cache for both
    const times = { bare: [] as number[], agent: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 === 0 ? (['bare', 'agent'] as const) : (['agent', 'bare'] as const)) {
        touch(tree, r * 2 + (which === 'bare' ? 0 : 1));
        const t0 = performance.now();
        await (which === 'bare' ? bare() : agent());
        times[which].push(performance.now() - t0);
      }
    }
    const b = median(times.bare);
    const a = median(times.agent);
    process.stderr.write(`  ${FILES} files, restic ${restic}; bare ${times.bare.map((t) => t.toFixed(0)).join('/')} ms, agent ${times.agent.map((t) => t.toFixed(0)).join('/')} ms\n`);
    return [
      { name: 'restic-agent backup / bare restic backup (median)', value: a / b, unit: '×', target: '≤ 1.05' },
      { name: 'bare restic backup, median', value: b, unit: 'ms' },
      { name: 'restic-agent backup, median', value: a, unit: 'ms' },
      { name: 'agent overhead per run', value: a - b, unit: 'ms' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of await cliOverhead(Number(process.argv[2] ?? 5))) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} ${f.target ?? ''}`);
}
