import { execa } from 'execa';
import type { ExecutionResult } from '../../../../src/main/core/managed/types.js';
import type { RmExecTask, RmLogLine, RmTaskExecutor } from '../../../../src/main/core/managed/restic-monitor/types.js';
import { useCheapKdf } from '../../../helpers/fast-kdf.js';

/**
 * A test executor that runs real restic for `agent-child.ts`, the crash-recovery child of restart.test.ts: it can
 * hang after restic has saved the snapshot, so the test kills the agent between snapshot and report. Everything
 * else goes through the agent core's real executor (agent-core.test.ts). The password reaches restic only through
 * the environment.
 */
export class TestResticExecutor implements RmTaskExecutor {
  /** Every restic command line run (argv without the binary), for assertions. */
  readonly commands: string[][] = [];

  constructor(
    private readonly bin: string,
    private readonly cacheDir: string,
    /** After a successful backup, never return (a test kills the process here), writing this marker first. */
    private readonly hangAfterBackup: ((task: RmExecTask) => Promise<void>) | null = null,
  ) {}

  #env(task: RmExecTask): Record<string, string> {
    if (task.access.password.kind !== 'value') throw new Error('test executor: only inline passwords');
    return { ...task.access.env, RESTIC_REPOSITORY: task.access.url, RESTIC_PASSWORD: task.access.password.value, RESTIC_CACHE_DIR: this.cacheDir };
  }

  async execute(task: RmExecTask, ctl: { signal: AbortSignal; onLog(line: RmLogLine): void }): Promise<ExecutionResult> {
    const args = this.#args(task);
    this.commands.push(args);
    const p = execa(this.bin, args, { env: this.#env(task), extendEnv: true, reject: false, cancelSignal: ctl.signal, lines: true });
    const r = await p;
    const out = (r.stdout as unknown as string[]) ?? [];
    const err = (r.stderr as unknown as string[]) ?? [];
    const time = new Date().toISOString();
    for (const text of out) ctl.onLog({ time, stream: 'stdout', text });
    for (const text of err) ctl.onLog({ time, stream: 'stderr', text });
    let snapshotId: string | null = null;
    for (const line of out) {
      try {
        const j = JSON.parse(line) as { message_type?: string; snapshot_id?: string };
        if (j.message_type === 'summary' && j.snapshot_id) snapshotId = j.snapshot_id;
      } catch {
        /* not JSON */
      }
    }
    const code = r.exitCode ?? null;
    if (r.isCanceled) return { outcome: 'cancelled', exitCode: code, message: 'cancelled', snapshotId: null, stats: null };
    const outcome = code === 0 ? 'success' : code === 3 ? 'partial' : 'failed';
    if (outcome === 'success' && task.type === 'backup' && this.hangAfterBackup) await this.hangAfterBackup(task);
    return {
      outcome,
      exitCode: code,
      message: code === 0 ? `${task.type} ok` : (err.find((l) => l.startsWith('Fatal')) ?? `restic exit ${code}`),
      snapshotId,
      stats: null,
    };
  }

  async findSnapshotForTask(task: RmExecTask): Promise<string | null> {
    const r = await execa(this.bin, ['snapshots', '--json', '--tag', task.reconcileTag], { env: this.#env(task), extendEnv: true, reject: false });
    if (r.exitCode !== 0) return null;
    const list = JSON.parse(r.stdout || '[]') as Array<{ id: string }>;
    return list.at(-1)?.id ?? null;
  }

  #args(task: RmExecTask): string[] {
    const keep = (flag: string, v: number | string | undefined): string[] => (v === undefined ? [] : [`--${flag}`, String(v)]);
    switch (task.type) {
      case 'backup':
        return ['backup', '--json', '--tag', task.reconcileTag, ...task.excludePatterns.flatMap((e) => ['--exclude', e]), ...task.includePaths];
      case 'check':
        return ['check'];
      case 'prune': {
        const r = task.retention ?? {};
        return [
          'forget',
          '--prune',
          ...keep('keep-last', r.keepLast),
          ...keep('keep-daily', r.keepDaily),
          ...keep('keep-weekly', r.keepWeekly),
          ...keep('keep-monthly', r.keepMonthly),
          ...keep('keep-yearly', r.keepYearly),
          ...keep('keep-within', r.keepWithin),
        ];
      }
    }
  }
}

/** Initialises a temp repository with real restic. */
export async function initRepo(bin: string, repo: string, password: string, cacheDir: string): Promise<void> {
  await execa(bin, ['init'], { env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: cacheDir } });
  useCheapKdf(repo, password);
}

/** Snapshot ids in a repository (optionally with a tag). */
export async function snapshots(bin: string, repo: string, password: string, cacheDir: string, tag?: string): Promise<Array<{ id: string; tags?: string[] }>> {
  const r = await execa(bin, ['snapshots', '--json', ...(tag ? ['--tag', tag] : [])], {
    env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: cacheDir },
  });
  return JSON.parse(r.stdout || '[]') as Array<{ id: string; tags?: string[] }>;
}
