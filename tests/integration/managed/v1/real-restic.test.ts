import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentCore } from '../../../../src/main/core/agent/create.js';
import { orchestratorMigrations } from '../../../../src/main/core/managed/v1/outbox.js';
import { openStateDb, type StateDb } from '../../../../src/main/core/state/db.js';
import { startReferenceOrchestrator, type ReferenceOrchestrator } from '../../../../reference-orchestrator/testing/index.js';
import { resticBins } from '../../../helpers/restic-bins.js';
import { tempDir } from '../../../helpers/tmp.js';
import { FAST, REPO, assertInvariants, settled } from './harness.js';
import { waitFor } from '../../../helpers/wait.js';
import { useCheapKdf } from '../../../helpers/fast-kdf.js';

const CHILD = fileURLToPath(new URL('./core-child.ts', import.meta.url));
const run = promisify(execFile);
const bin = resticBins().at(-1)!;

interface Child {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  kill(): void;
}
const children: Child[] = [];
let orch: ReferenceOrchestrator | undefined;
let db: StateDb | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill();
    await c.exited;
  }
  db?.close();
  db = undefined;
  await orch?.stop();
  orch = undefined;
});

async function spawnCore(configPath: string, dataDir: string, failpoints: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CORE_CHILD: JSON.stringify({ configPath, dataDir }), RESTIC_AGENT_FAILPOINTS: failpoints.join(',') },
  });
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const child: Child = { exited, stderr: () => err, kill: () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL') };
  children.push(child);
  await waitFor('core start', () => err.includes('child agent started') || proc.exitCode !== null, 30_000);
  return child;
}

/** Snapshots in the real repository carrying `tag`. */
async function snapshots(repo: string, tag: string): Promise<Array<{ id: string; tags: string[]; paths: string[] }>> {
  const { stdout } = await run(bin.path, ['snapshots', '--json', '--tag', tag], {
    env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: REPO.password },
  });
  return JSON.parse(stdout) as Array<{ id: string; tags: string[]; paths: string[] }>;
}

describe(`managed mode end to end: the real agent core and ${bin.label}`, () => {
  it('backup task → snapshot in the repository; kill -9 after restic committed → retry reconciles by task=<id>, no second snapshot (I6)', async () => {
    const dir = tempDir('rma-e2e-');
    const repo = join(dir, 'repo');
    const src = join(dir, 'src');
    const dataDir = join(dir, 'data');
    mkdirSync(src);
    for (let i = 0; i < 5; i++) writeFileSync(join(src, `f${i}.txt`), `content ${i}\n`.repeat(200));
    await run(bin.path, ['init'], { env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: REPO.password } });
    useCheapKdf(repo, REPO.password);
    orch = await startReferenceOrchestrator(dir, { options: { ...FAST, retryDelaysS: [0] } });
    const configPath = join(dir, 'config.yaml');
    writeFileSync(join(dir, 'pass'), `${REPO.password}\n`, { mode: 0o600 });
    writeFileSync(
      configPath,
      [
        'agent: { id: e2e-agent, hostname: e2e-host }',
        `restic: { binary: ${bin.path} }`,
        'secrets: { backend: file }',
        // A local source for tasks that name one (a plugin source needs a repository of its own in the file).
        `repository: { url: ${repo}, password_file: ${join(dir, 'pass')} }`,
        'plugins: { command: [ { name: ldap, command: [echo, ldif-data], stdin_filename: ldap.ldif } ] }',
      ].join('\n'),
    );
    // Enrollment through the core, as `restic-agent enroll` does.
    const enrolling = await createAgentCore({ configPath, dataDir, schedule: false });
    const et = await orch.admin.createEnrollmentToken({});
    const { agentId } = await enrolling.enroll({ url: orch.url, token: et.token, caFile: null, protocol: 'v1', insecureLoopback: true });
    await enrolling.stop();
    const repoSpec = { repo: { ...REPO, url: repo } };

    // 1. A plain backup task: the snapshot is in the repository, tagged task=<id>.
    const first = await spawnCore(configPath, dataDir);
    const t1 = await orch.admin.createTask(agentId!, 'backup', { paths: [src], tags: ['plan:e2e'] }, repoSpec);
    const d1 = await settled({ orch }, t1.task_id, ['succeeded'], 60_000);
    const s1 = await snapshots(repo, `task=${t1.task_id}`);
    expect(s1).toHaveLength(1);
    expect(s1[0]!.tags).toEqual(expect.arrayContaining(['plan:e2e', `task=${t1.task_id}`]));
    expect(s1[0]!.paths).toEqual([src]);
    expect(String((d1.attempts[0]!.status as { result: { restic: { snapshot_id: string } } }).result.restic.snapshot_id)).toBe(s1[0]!.id);
    // 1b. A task may name a configured source instead of paths: here a plugin source, by its name.
    const tSrc = await orch.admin.createTask(agentId!, 'backup', { source: 'ldap' }, repoSpec);
    await settled({ orch }, tSrc.task_id, ['succeeded'], 60_000);
    expect(await snapshots(repo, `task=${tSrc.task_id}`)).toEqual([
      expect.objectContaining({ paths: ['/ldap.ldif'], tags: expect.arrayContaining(['plugin:command', 'source:ldap']) }),
    ]);
    const tNone = await orch.admin.createTask(agentId!, 'backup', { source: 'nope' }, repoSpec);
    const dNone = await settled({ orch }, tNone.task_id, ['failed'], 60_000);
    expect(JSON.stringify(dNone.attempts[0]!.status)).toContain('Unknown source');
    first.kill();
    await first.exited;

    // 2. kill -9 right after restic exited, before the result was persisted.
    const crashing = await spawnCore(configPath, dataDir, ['after_restic_exit_before_persist']);
    const t2 = await orch.admin.createTask(agentId!, 'backup', { paths: [src] }, repoSpec);
    expect((await crashing.exited).signal).toBe('SIGKILL');
    const committed = await snapshots(repo, `task=${t2.task_id}`);
    expect(committed).toHaveLength(1);
    const again = await spawnCore(configPath, dataDir);
    const d2 = await settled({ orch }, t2.task_id, ['succeeded'], 60_000);
    expect(d2.attempts.map((a) => a.state)).toEqual(['failed', 'succeeded']);
    expect(JSON.stringify(d2.attempts[0]!.status)).toContain('agent_restarted');
    expect(d2.attempts[1]!.params).toMatchObject({ reconcile_tag: `task=${t2.task_id}`, pre: ['unlock'] });
    expect(String((d2.attempts[1]!.status as { result: { restic: { snapshot_id: string } } }).result.restic.snapshot_id)).toBe(committed[0]!.id);
    expect(await snapshots(repo, `task=${t2.task_id}`)).toHaveLength(1);

    // 3. Scenario 15 with real restic: a wrong password is exit 12 → failed wrong_password, never retried.
    const t3 = await orch.admin.createTask(agentId!, 'backup', { paths: [src] }, { repo: { ...repoSpec.repo, password: 'not-the-password' } });
    const d3 = await settled({ orch }, t3.task_id, ['failed'], 60_000);
    expect(d3.attempts).toHaveLength(1);
    expect((d3.attempts[0]!.status as { result: { exit_code: number; error: { code: string; retryable: boolean } } }).result).toMatchObject({
      exit_code: 12,
      error: { code: 'wrong_password', retryable: false },
    });

    db = openStateDb(join(dataDir, 'state.db'), orchestratorMigrations);
    const dbFile = join(dataDir, 'state.db');
    await assertInvariants(
      {
        orch,
        db,
        dbFile,
        runs: () => [],
        texts: () => [first.stderr(), crashing.stderr(), again.stderr()],
        snapshotsForTask: () => [],
      },
      [t1.task_id, t2.task_id, t3.task_id],
    );
  }, 150_000);
});
