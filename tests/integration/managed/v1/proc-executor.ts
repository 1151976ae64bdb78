import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionResult } from '../../../../src/main/core/managed/types.js';
import type { TaskExecutor, ValidatedTask } from '../../../../src/main/core/managed/v1/types.js';
import { alive, processStartTime } from '../../../../src/main/core/agent/orphans.js';
import { sleep } from '../../../helpers/wait.js';

/** How the fake restic process behaves (read from `<dir>/plan.json` at every start, so tests can change it). */
export interface ProcPlan {
  durationMs: number;
  lines: number;
  exitCode: number;
  sigint: 'fast' | 'slow' | 'never';
}

/** One line of the fake restic's audit file. */
export interface ProcAuditEvent {
  ev: 'start' | 'end';
  lease: string;
  task: string;
  pid: number;
  t: number;
  argv?: string[];
  envKeys?: string[];
  aborted?: boolean;
  code?: number;
}

const FAKE = fileURLToPath(new URL('./fake-restic.mjs', import.meta.url));
const DEFAULT_PLAN: ProcPlan = { durationMs: 400, lines: 5, exitCode: 0, sigint: 'fast' };

export { alive, processStartTime };

/** Reads a JSONL file (missing = empty). */
export function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

const exitOutcome = (code: number | null): ExecutionResult['outcome'] =>
  code === 0
    ? 'success'
    : code === 3
      ? 'partial'
      : code === 10
        ? 'no-repo'
        : code === 11
          ? 'locked'
          : code === 12
            ? 'wrong-password'
            : code === 130
              ? 'cancelled'
              : code === null
                ? 'killed'
                : 'failed';

/**
 * A TaskExecutor that runs the fake restic as a real detached child process (its own process group), so a
 * `kill -9` of the agent leaves it running as an orphan for crash recovery to find by pid + start time.
 */
export class ProcExecutor implements TaskExecutor {
  constructor(private readonly dir: string) {}

  plan(): ProcPlan {
    const f = join(this.dir, 'plan.json');
    return existsSync(f) ? { ...DEFAULT_PLAN, ...(JSON.parse(readFileSync(f, 'utf8')) as Partial<ProcPlan>) } : DEFAULT_PLAN;
  }

  execute(task: ValidatedTask, ctl: Parameters<TaskExecutor['execute']>[1]): Promise<ExecutionResult> {
    const plan = this.plan();
    const tags = task.params.type === 'backup' ? task.params.tags : [];
    const paths = task.params.type === 'backup' ? task.params.paths : [];
    const child = spawn(process.execPath, [FAKE, task.type, '--json', ...tags.flatMap((t) => ['--tag', t]), ...paths], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        FAKE_RESTIC_DIR: this.dir,
        FAKE_LEASE: task.leaseId,
        FAKE_TASK: task.taskId,
        FAKE_DURATION_MS: String(plan.durationMs),
        FAKE_LINES: String(plan.lines),
        FAKE_EXIT: String(plan.exitCode),
        FAKE_SIGINT: plan.sigint,
        RESTIC_REPOSITORY: task.repo.url,
        RESTIC_PASSWORD: task.repo.password,
        ...task.repo.env,
      },
    });
    const pid = child.pid!;
    ctl.onSpawn?.(pid, processStartTime(pid));
    let snapshotId: string | null = null;
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = JSON.parse(line) as { message_type: string; percent_done?: number; snapshot_id?: string };
        if (m.message_type === 'summary') snapshotId = m.snapshot_id ?? null;
        if (m.message_type === 'status') {
          const f = m.percent_done ?? 0;
          ctl.onProgress({
            percent: f * 100,
            bytesDone: f * 1e6,
            totalBytes: 1e6,
            filesDone: Math.round(f * 100),
            totalFiles: 100,
            errorCount: 0,
            etaSeconds: 1,
            elapsedSeconds: 1,
            currentFiles: [],
          });
        }
      }
    });
    let errBuf = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      errBuf += chunk;
      let nl;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        ctl.onLog({ level: 'warn', src: 'restic.stderr', msg: errBuf.slice(0, nl) });
        errBuf = errBuf.slice(nl + 1);
      }
    });
    let killTimer: NodeJS.Timeout | null = null;
    const onAbort = () => {
      try {
        process.kill(-pid, 'SIGINT');
      } catch {
        /* already gone */
      }
      killTimer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, task.cancelGraceS * 1000);
    };
    ctl.signal.addEventListener('abort', onAbort, { once: true });
    return new Promise((resolve) => {
      child.on('close', (code) => {
        if (killTimer) clearTimeout(killTimer);
        ctl.signal.removeEventListener('abort', onAbort);
        const outcome = exitOutcome(code);
        resolve({
          outcome,
          exitCode: code,
          message: `restic exited ${code ?? 'by signal'}`,
          snapshotId: outcome === 'success' || outcome === 'partial' ? snapshotId : null,
          stats: null,
        });
      });
    });
  }

  async findSnapshotForTask(task: ValidatedTask): Promise<string | null> {
    const snaps = readJsonl<{ id: string; tags: string[] }>(join(this.dir, 'snapshots.jsonl'));
    return snaps.find((s) => s.tags.includes(`task=${task.taskId}`))?.id ?? null;
  }

  async killOrphan(pid: number, startTime: string | null, graceMs: number): Promise<void> {
    // A recycled pid belongs to someone else: only the same process (same start time) is ours to stop.
    if (!alive(pid) || (startTime !== null && processStartTime(pid) !== startTime)) return;
    try {
      process.kill(-pid, 'SIGINT');
    } catch {
      /* gone */
    }
    const end = Date.now() + graceMs;
    while (alive(pid) && Date.now() < end) await sleep(20);
    if (alive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
