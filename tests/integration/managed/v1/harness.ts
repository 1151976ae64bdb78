import { orchestratorScope, tokenAccounts } from '../../../../src/main/core/managed/credentials.js';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Progress } from '../../../../src/shared/model/run.js';
import { silentLogger, type Logger } from '../../../../src/main/core/log/logger.js';
import { MemorySecretStore } from '../../../../src/main/core/secrets/memory-store.js';
import { openStateDb, type StateDb } from '../../../../src/main/core/state/db.js';
import { enroll } from '../../../../src/main/core/managed/v1/enrollment.js';
import { ManagedAgent, type ManagedAgentOptions } from '../../../../src/main/core/managed/v1/agent.js';
import { Outbox, orchestratorMigrations } from '../../../../src/main/core/managed/v1/outbox.js';
import type { ExecutionResult } from '../../../../src/main/core/managed/types.js';
import type { LogLine, TaskExecutor, ValidatedTask } from '../../../../src/main/core/managed/v1/types.js';
import { startReferenceOrchestrator, type AdminTaskView, type ReferenceOrchestrator } from '../../../../reference-orchestrator/testing/index.js';
import { createFaultProxy, type FaultProxy } from '../../../../reference-orchestrator/testing/fault-proxy.js';
import { tempDir } from '../../../helpers/tmp.js';
import { createRecorder, type Recorder } from './tools.js';
import { waitFor, sleep } from '../../../helpers/wait.js';

/** Repository credentials handed out with every task; none may leak (I5). */
export const REPO = {
  repo_id: 'rep_1',
  url: 's3:https://s3.example.com/bucket',
  password: 'repo-pw-Zx81-secret',
  env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'aws-secret-Qy7-value' },
};
export const SECRETS = [REPO.password, REPO.env.AWS_SECRET_ACCESS_KEY];

/** How the simulated restic run behaves. */
export interface FakeRun {
  durationMs: number;
  outcome?: ExecutionResult['outcome'];
  exitCode?: number;
  logLines?: number;
  /** Ignore the abort signal until this many ms after it (simulates a slow SIGINT). */
  sigintDelayMs?: number;
}

/** One simulated restic invocation (the audit file of the spec's fake restic). */
export interface AuditEntry {
  leaseId: string;
  taskId: string;
  tags: ReadonlyArray<string>;
  envKeys: ReadonlyArray<string>;
  argv: ReadonlyArray<string>;
  startedAt: number;
  endedAt: number | null;
  aborted: boolean;
}

/** A TaskExecutor that simulates restic: progress, log lines, snapshots tagged `task=<id>`, an audit trail. */
export class FakeExecutor implements TaskExecutor {
  readonly audit: AuditEntry[] = [];
  /** snapshot id → tags (the fake repository). */
  readonly snapshots = new Map<string, ReadonlyArray<string>>();
  plan: FakeRun = { durationMs: 300, logLines: 5 };
  /** Runs still going (used to simulate a crash leaving restic behind). */
  readonly live = new Set<AuditEntry>();

  async execute(task: ValidatedTask, ctl: Parameters<TaskExecutor['execute']>[1]): Promise<ExecutionResult> {
    const plan = { ...this.plan };
    const tags = task.params.type === 'backup' ? task.params.tags : [];
    const entry: AuditEntry = {
      leaseId: task.leaseId,
      taskId: task.taskId,
      tags,
      envKeys: ['RESTIC_PASSWORD', ...Object.keys(task.repo.env)],
      argv: ['restic', task.type, '--json', ...tags.flatMap((t) => ['--tag', t])],
      startedAt: Date.now(),
      endedAt: null,
      aborted: false,
    };
    this.audit.push(entry);
    this.live.add(entry);
    ctl.onSpawn?.(process.pid, null);
    const t0 = Date.now();
    let abortedAt: number | null = null;
    ctl.signal.addEventListener('abort', () => (abortedAt = Date.now()), { once: true });
    let i = 0;
    const lines = plan.logLines ?? 5;
    while (Date.now() - t0 < plan.durationMs) {
      if (abortedAt !== null && Date.now() - abortedAt >= (plan.sigintDelayMs ?? 0)) {
        entry.aborted = true;
        entry.endedAt = Date.now();
        this.live.delete(entry);
        return { outcome: 'cancelled', exitCode: 130, message: 'interrupted', snapshotId: null, stats: null };
      }
      const frac = (Date.now() - t0) / plan.durationMs;
      ctl.onProgress(progress(frac));
      if (i < lines) ctl.onLog(logLine(i++, task));
      await sleep(20);
    }
    while (i < lines) ctl.onLog(logLine(i++, task));
    entry.endedAt = Date.now();
    this.live.delete(entry);
    const outcome = plan.outcome ?? 'success';
    let snapshotId: string | null = null;
    if (task.type === 'backup' && (outcome === 'success' || outcome === 'partial')) {
      snapshotId = `snap${this.snapshots.size + 1}`.padEnd(16, '0');
      this.snapshots.set(snapshotId, tags);
    }
    return { outcome, exitCode: plan.exitCode ?? 0, message: `restic exited ${plan.exitCode ?? 0}`, snapshotId, stats: null };
  }

  async findSnapshotForTask(task: ValidatedTask): Promise<string | null> {
    for (const [id, tags] of this.snapshots) if (tags.includes(`task=${task.taskId}`)) return id;
    return null;
  }

  async killOrphan(): Promise<void> {
    for (const e of this.live) {
      e.aborted = true;
      e.endedAt = Date.now();
    }
    this.live.clear();
  }

  snapshotsForTask(taskId: string): string[] {
    return [...this.snapshots].filter(([, tags]) => tags.includes(`task=${taskId}`)).map(([id]) => id);
  }
}

function progress(frac: number): Progress {
  const f = Math.min(1, frac);
  return {
    percent: f * 100,
    bytesDone: Math.round(f * 1e6),
    totalBytes: 1e6,
    filesDone: Math.round(f * 100),
    totalFiles: 100,
    errorCount: 0,
    etaSeconds: 1,
    elapsedSeconds: 1,
    currentFiles: [],
  };
}

function logLine(i: number, task: ValidatedTask): LogLine {
  // Line 0 tries to leak the password: redaction must catch it (I5).
  return i === 0
    ? { level: 'warn', src: 'restic.stderr', msg: `using password ${task.repo.password} for ${task.repo.url}` }
    : { level: 'info', src: 'restic.stderr', msg: `processed item ${i}` };
}

/** Fast server tunables for tests. */
export const FAST = {
  heartbeatIntervalS: 1,
  pollWaitMaxS: 2,
  progressIntervalS: 1,
  logFlushIntervalMs: 200,
  sweepIntervalMs: 100,
  commandRedeliverS: 1,
};

/** One test world: orchestrator, optional fault proxy, agent state, executor. */
export interface World {
  orch: ReferenceOrchestrator;
  proxy: FaultProxy | null;
  /** Records request and response bodies between the proxy and the orchestrator (`record: true`). */
  recorder: Recorder | null;
  dir: string;
  dbFile: string;
  db: StateDb;
  secrets: MemorySecretStore;
  executor: FakeExecutor;
  agentId: string;
  agent: ManagedAgent;
  /** Secret-store accounts of the agent token (scoped to the URL the agent talks to). */
  accounts: ReturnType<typeof tokenAccounts>;
  /** Starts a (new) agent process on the same state and secrets. */
  startAgent(over?: Partial<ManagedAgentOptions>): Promise<ManagedAgent>;
  close(): Promise<void>;
}

/** Starts the reference orchestrator (+ proxy), enrolls an agent and starts it. */
export async function makeWorld(
  opts: { proxy?: boolean; record?: boolean; server?: Record<string, unknown>; log?: Logger; startAgent?: boolean; agent?: Partial<ManagedAgentOptions> } = {},
): Promise<World> {
  const dir = tempDir('rma-managed-');
  const orch = await startReferenceOrchestrator(dir, { options: { ...FAST, ...opts.server } });
  const recorder = opts.record ? await createRecorder(orch.url) : null;
  const proxy = opts.proxy || opts.record ? await createFaultProxy({ target: recorder?.url ?? orch.url }) : null;
  const url = proxy ? proxy.url : orch.url;
  const dbFile = join(dir, 'agent', 'state.db');
  const db = openStateDb(dbFile, orchestratorMigrations);
  const secrets = new MemorySecretStore();
  const et = await orch.admin.createEnrollmentToken({});
  const { agentId } = await enroll({ url, enrollmentToken: et.token, insecureLoopback: true, secrets, db, agentVersion: '0.1.0', hostname: 'test-host' });
  const executor = new FakeExecutor();
  let dbNow = db;
  const world: World = {
    orch,
    proxy,
    recorder,
    dir,
    dbFile,
    db,
    secrets,
    executor,
    agentId,
    agent: undefined as unknown as ManagedAgent,
    accounts: tokenAccounts(orchestratorScope(url, 'v1')),
    async startAgent(over = {}) {
      if (!dbNow.open) dbNow = openStateDb(dbFile, orchestratorMigrations);
      world.db = dbNow;
      const a = new ManagedAgent({
        url,
        insecureLoopback: true,
        db: dbNow,
        secrets,
        executor,
        agentVersion: '0.1.0',
        startupStaggerMs: 0,
        log: opts.log ?? silentLogger,
        failpoint: () => {},
        ...opts.agent,
        ...over,
      });
      await a.start();
      world.agent = a;
      return a;
    },
    async close() {
      await world.agent?.abandon().catch(() => {});
      await proxy?.close();
      await recorder?.close();
      await orch.stop();
      if (world.db.open) world.db.close();
    },
  };
  if (opts.startAgent !== false) await world.startAgent();
  return world;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'rejected']);

/** Waits until the task reaches one of `states` and its log is complete. */
export async function settled(w: { orch: ReferenceOrchestrator }, taskId: string, states: string[], ms = 20_000): Promise<AdminTaskView> {
  return waitFor(
    `task ${taskId} in ${states.join('|')}`,
    async () => {
      const t = await w.orch.admin.getTask(taskId);
      const cur = t.attempts.find((a) => a.lease_id === t.current_lease_id) ?? t.attempts.at(-1);
      return states.includes(t.state) && (!cur || cur.log.complete || cur.state === 'rejected') ? t : null;
    },
    ms,
  );
}

/** One restic run as the invariants see it (from the fake executor's audit trail). */
export interface RunView {
  readonly leaseId: string;
  readonly taskId: string;
  readonly startedAt: number;
  /** null when the run never reported an end (a killed orphan). */
  readonly endedAt: number | null;
  /** Explicitly stopped (SIGINT/kill) rather than finished. */
  readonly aborted: boolean;
  readonly argv: ReadonlyArray<string>;
}

/** What `assertInvariants` needs from a test world (in-process or child-process agent). */
export interface InvariantWorld {
  readonly orch: ReferenceOrchestrator;
  readonly db: StateDb;
  readonly dbFile: string;
  runs(): RunView[];
  snapshotsForTask(taskId: string): string[];
  /** Agent log output and other text that must not contain secrets (I5). */
  texts?(): string[];
}

/** The invariant view of an in-process world. */
export function invariantView(w: World): InvariantWorld {
  return {
    orch: w.orch,
    db: w.db,
    dbFile: w.dbFile,
    runs: () =>
      w.executor.audit.map((a) => ({ leaseId: a.leaseId, taskId: a.taskId, startedAt: a.startedAt, endedAt: a.endedAt, aborted: a.aborted, argv: a.argv })),
    snapshotsForTask: (id) => w.executor.snapshotsForTask(id),
  };
}

/** Options of `assertInvariants`. */
export interface InvariantOptions {
  /** Check I4 (outbox drained); default true. */
  outboxEmpty?: boolean;
  /** Dead letters expected in the agent DB (I4); default 0. */
  deadLetters?: number;
}

/** Asserts invariants I1–I6 (spec §12.2) for the given tasks. */
export async function assertInvariants(world: World | InvariantWorld, taskIds: string[], opts: InvariantOptions = {}): Promise<void> {
  const w: InvariantWorld = 'executor' in world ? invariantView(world) : world;
  const runs = w.runs();
  // I1: at most one run per lease; never two overlapping runs of one task unless the earlier one was stopped.
  const byLease = new Map<string, number>();
  for (const a of runs) byLease.set(a.leaseId, (byLease.get(a.leaseId) ?? 0) + 1);
  for (const [lease, n] of byLease) expect(n, `runs of lease ${lease}`).toBe(1);
  for (const id of taskIds) {
    const mine = runs.filter((a) => a.taskId === id).sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < mine.length; i++) {
      const prev = mine[i - 1]!;
      if (prev.aborted) continue;
      expect(mine[i]!.startedAt, `overlapping runs of ${id}`).toBeGreaterThanOrEqual(prev.endedAt ?? Infinity);
    }
  }
  for (const id of taskIds) {
    const t = await w.orch.admin.getTask(id);
    const logs = await w.orch.admin.getLogs(id);
    for (const at of t.attempts) {
      // I2: one terminal state per attempt; no regression in the applied report history.
      const applied = at.reports.filter((r) => r.outcome === 'applied');
      expect(applied.filter((r) => TERMINAL.has(r.state)).length, `terminal reports of ${at.lease_id}`).toBeLessThanOrEqual(1);
      for (let i = 1; i < applied.length; i++) expect(applied[i]!.status_seq).toBeGreaterThan(applied[i - 1]!.status_seq);
      // I3: log seq 1..N contiguous, N = terminal log_seq (lines cut by the server's per-task cap are counted).
      const l = logs.attempts.find((x) => x.lease_id === at.lease_id);
      if (l && TERMINAL.has(at.agent_state ?? at.state) && at.state !== 'rejected') {
        const seqs = l.entries.map((e) => e.seq);
        expect(l.complete, `log complete for ${at.lease_id}`).toBe(true);
        if (l.truncated) {
          for (let i = 1; i < seqs.length; i++) expect(seqs[i]!, `log order of ${at.lease_id}`).toBeGreaterThan(seqs[i - 1]!);
          expect(seqs.length + l.dropped, `stored + counted lines of ${at.lease_id}`).toBe(l.terminal_log_seq ?? 0);
        } else {
          expect(seqs, `log of ${at.lease_id}`).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
          expect(seqs.length).toBe(l.terminal_log_seq ?? 0);
        }
      }
    }
    // I6: at most one snapshot tagged task=<id>.
    expect(w.snapshotsForTask(id).length, `snapshots of ${id}`).toBeLessThanOrEqual(1);
  }
  // I4: outbox drained; dead letters only where expected.
  if (opts.outboxEmpty !== false) {
    await waitFor(
      'outbox drained',
      () => {
        const o = new Outbox(w.db);
        return o.pendingStatuses().length === 0 && o.pendingStreams().length === 0;
      },
      15_000,
    );
  }
  // The message lists them (kind, HTTP status, problem) so a failure says which report was refused and why.
  const dead = w.db.prepare('SELECT kind, http_status, problem_json FROM orch_dead_letter').all();
  expect(new Outbox(w.db).stats(false).dead_letters, `dead letters: ${JSON.stringify(dead)}`).toBe(opts.deadLetters ?? 0);
  // I5: no secret in the agent DB (incl. WAL), the server's stored logs, agent output, or spawned argv. (The server's
  // own DB legitimately holds the repository credentials it hands out with each task.)
  for (const f of [w.dbFile, `${w.dbFile}-wal`]) {
    if (!existsSync(f)) continue;
    const bytes = readFileSync(f).toString('latin1');
    for (const s of SECRETS) expect(bytes.includes(s), `secret in ${f}`).toBe(false);
  }
  for (const id of taskIds) {
    const logs = JSON.stringify(await w.orch.admin.getLogs(id));
    for (const s of SECRETS) expect(logs.includes(s), 'secret in server logs').toBe(false);
  }
  for (const text of [...runs.map((a) => a.argv.join(' ')), ...(w.texts?.() ?? [])]) {
    for (const s of SECRETS) expect(text.includes(s), 'secret in argv or agent output').toBe(false);
  }
}
