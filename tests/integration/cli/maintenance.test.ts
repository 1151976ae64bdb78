/**
 * Issue #11 with real restic: a default backup job only `forget`s; pruning is the repository's own scheduled job
 * (here `every 2s`, run by the real core), and `prune: after_backup` keeps the old behaviour.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/shared/model/run.js';
import { createAgentCore } from '../../../src/main/core/agent/create.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { sleep } from '../../helpers/wait.js';
import { useCheapKdfAfterInit } from '../../helpers/fast-kdf.js';

const CLI = fileURLToPath(new URL('../../../bin/restic-agent.js', import.meta.url));
const execFileP = promisify(execFile);
const restic = resticBins().at(-1)!.path;

function setup(repoKeys: string[], top: string[] = []): string {
  const dir = tempDir('rma-maint-');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'a.txt'), 'hello\n');
  writeFileSync(join(dir, 'pass'), 'maintenance test password\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'agent: { id: m1, hostname: m1, catch_up_delay: 1s }',
      `restic: { binary: ${restic} }`,
      'repository:',
      `  url: ${join(dir, 'repo')}`,
      `  password_file: ${join(dir, 'pass')}`,
      ...repoKeys,
      ...top,
      'secrets: { backend: file }',
      `backup: { sources: [ { path: ${join(dir, 'src')}, policy: daily } ] }`,
    ].join('\n') + '\n',
  );
  return dir;
}

async function cli(dir: string, ...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await execFileP(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), ...args], {
      env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') },
    });
    useCheapKdfAfterInit(dir, args);
    return { code: 0, stdout };
  } catch (e) {
    return { code: (e as { code: number }).code, stdout: (e as { stdout: string }).stdout };
  }
}

describe('maintenance cadence with real restic', () => {
  it('the default daily job backs up and forgets, without pruning', async () => {
    const dir = setup([]);
    expect((await cli(dir, 'init')).code).toBe(0);
    const records = JSON.parse((await cli(dir, '--json', 'backup')).stdout) as RunRecord[];
    expect(records.map((r) => [r.kind, r.outcome])).toEqual([
      ['backup', 'success'],
      ['forget', 'success'],
    ]);
    expect(records[1]!.message).not.toMatch(/pruned/);
  });

  it('prune: after_backup prunes with every backup', async () => {
    const dir = setup([], ['policies: { daily: { prune: after_backup } }']);
    expect((await cli(dir, 'init')).code).toBe(0);
    const records = JSON.parse((await cli(dir, '--json', 'backup')).stdout) as RunRecord[];
    expect(records[1]).toMatchObject({ kind: 'forget', outcome: 'success', message: expect.stringMatching(/pruned/) });
  });

  it('the repository prune job runs on its own schedule with its limits, through the running core', async () => {
    const dir = setup(['  prune: { schedule: every 2s, max_unused: 10%, conditions: { ac_power_only: false, not_on_metered: false } }', '  check: false']);
    expect((await cli(dir, 'init')).code).toBe(0);
    const core = await createAgentCore({ configPath: join(dir, 'config.yaml'), dataDir: join(dir, 'data'), schedule: true });
    try {
      const end = Date.now() + 30_000;
      let prunes: RunRecord[] = [];
      while (Date.now() < end) {
        prunes = (await core.getHistory({ limit: 50 })).filter((r) => r.kind === 'prune' && r.outcome !== null);
        if (prunes.length > 0) break;
        await sleep(200);
      }
      expect(prunes[0]).toMatchObject({ kind: 'prune', trigger: 'schedule', outcome: 'success', source: null });
      const logs = await core.getLogs({ limit: 1000 });
      expect(logs.map((l) => l.message).join('\n')).toMatch(/restic .*prune --max-unused 10%/);
    } finally {
      await core.stop();
    }
  }, 45_000);
});
