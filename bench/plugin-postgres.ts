/**
 * The postgres plugin against the same dump by hand: a ~200 MB PostgreSQL database backed up through the agent
 * (`runNow` in a core: `pg_dump -Fc` streamed into restic, `--stdin-from-command` with restic ≥ 0.17) vs
 * `pg_dump -Fc | restic backup --stdin` in a shell, same restic, same repository, alternated, medians.
 * The agent's policy has no retention, so both sides run the backup alone. Target: ratio ≤ 1.05, and the agent's RSS growth during the dump ≤ 20 MB (the dump never passes through it
 * with restic ≥ 0.17; with 0.14 the dump writes into restic's stdin pipe, which the agent only holds open).
 *
 * Needs PostgreSQL 15 (scripts/setup.sh). Standalone: `node --import tsx bench/plugin-postgres.ts [rounds]`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createAgentCore } from '../src/main/core/agent/create.js';
import { havePostgres, PG_BIN, startPostgres } from '../tests/servers/postgres.js';
import { benchRestic } from './cli-overhead.js';
import type { Figure } from './index.js';

const exec = promisify(execFile);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MB = 1024 * 1024;

export default async function pluginPostgres(rounds = Number(process.env.BENCH_PG_ROUNDS ?? 3)): Promise<Figure[]> {
  if (!havePostgres()) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}): run scripts/setup.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-pg-'));
  const pg = await startPostgres();
  try {
    await pg.sql('postgres', 'CREATE DATABASE bench');
    // ~200 MB on disk: md5 text (half compressible, like real rows) and a number per row.
    await pg.sql(
      'bench',
      'CREATE TABLE t AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS payload FROM generate_series(1, 1500000) g',
    );
    const dbBytes = Number(await pg.sql('bench', "SELECT pg_database_size('bench')"));
    const restic = benchRestic();
    const repo = join(dir, 'repo');
    const pass = join(dir, 'pass');
    writeFileSync(pass, 'bench-password\n', { mode: 0o600 });
    const pgPass = join(dir, 'pg.pass');
    writeFileSync(pgPass, `${pg.password}\n`, { mode: 0o600 });
    const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: pass, RESTIC_CACHE_DIR: join(dir, 'cache'), PGPASSWORD: pg.password };
    await exec(restic, ['init'], { env });
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'agent: { id: bench, hostname: bench }',
        `restic: { binary: ${restic}, cache_dir: ${join(dir, 'cache')} }`,
        `repository: { url: ${repo}, password_file: ${pass} }`,
        'secrets: { backend: file }',
        // The backup alone, like the bare side: no retention run after it.
        'policies: { bench: { schedule: "0 3 * * *", retention: null } }',
        `plugins: { postgres: [ { name: bench, policy: bench, host: ${pg.host}, user: postgres, password_file: ${pgPass}, databases: [bench], globals: false, bin_dir: ${PG_BIN} } ] }`,
      ].join('\n') + '\n',
    );
    const bare = () =>
      exec(
        'bash',
        [
          '-c',
          `set -o pipefail; "${PG_BIN}/pg_dump" -h "${pg.host}" -U postgres -w -Fc -d bench | "${restic}" --json backup --stdin --stdin-filename postgres/bench.dump --host bench --tag plugin:postgres --tag source:bench --tag db:bench >/dev/null`,
        ],
        { env, maxBuffer: 1 << 26 },
      );
    const core = await createAgentCore({ configPath: config, dataDir: join(dir, 'data'), schedule: false });
    const t = { bare: [] as number[], agent: [] as number[] };
    let rssGrowth = 0;
    try {
      const agent = async () => {
        global.gc?.();
        const before = process.memoryUsage().rss;
        let peak = before;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
        const [r] = await core.runNow({ kind: 'backup', source: 'bench' });
        clearInterval(sampler);
        if (r?.outcome !== 'success') throw new Error(`agent backup: ${r?.outcome}: ${r?.message}`);
        rssGrowth = Math.max(rssGrowth, peak - before);
      };
      await bare(); // warm both: the repository holds the data, the OS caches the table
      await agent();
      rssGrowth = 0;
      for (let i = 0; i < rounds; i++) {
        for (const which of i % 2 ? (['agent', 'bare'] as const) : (['bare', 'agent'] as const)) {
          const t0 = performance.now();
          await (which === 'bare' ? bare() : agent());
          t[which].push(performance.now() - t0);
        }
      }
    } finally {
      await core.stop();
    }
    const version = (await exec(restic, ['version'])).stdout.split(' ')[1] ?? '?';
    return [
      { name: `database size (restic ${version})`, value: dbBytes / MB, unit: 'MiB' },
      { name: 'pg_dump | restic --stdin (bare, median)', value: median(t.bare) / 1000, unit: 's' },
      { name: 'postgres plugin (agent, median)', value: median(t.agent) / 1000, unit: 's' },
      { name: 'plugin / bare', value: median(t.agent) / median(t.bare), unit: '×', target: '≤ 1.05' },
      { name: 'agent RSS growth during the dump (max)', value: rssGrowth / MB, unit: 'MB', target: '≤ 20' },
    ];
  } finally {
    await pg.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await pluginPostgres(Number(process.argv[2] ?? 3));
  for (const f of figures) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit}${f.target ? ` (target ${f.target})` : ''}`);
}
