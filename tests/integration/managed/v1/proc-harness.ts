import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStateDb, type StateDb } from '../../../../src/main/core/state/db.js';
import { enroll } from '../../../../src/main/core/managed/v1/enrollment.js';
import { orchestratorMigrations } from '../../../../src/main/core/managed/v1/outbox.js';
import type { FailpointName } from '../../../../src/main/core/managed/v1/failpoints.js';
import type { Tunables } from '../../../../src/main/core/managed/v1/types.js';
import { FileSecretStore } from '../../../../src/main/core/secrets/file-store.js';
import { startReferenceOrchestrator } from '../../../../reference-orchestrator/testing/index.js';
import { createFaultProxy, type FaultProxy } from '../../../../reference-orchestrator/testing/fault-proxy.js';
import { tempDir } from '../../../helpers/tmp.js';
import { FAST, type InvariantWorld, type RunView } from './harness.js';
import { readJsonl, type ProcAuditEvent, type ProcPlan } from './proc-executor.js';
import { waitFor } from '../../../helpers/wait.js';

const CHILD = fileURLToPath(new URL('./child-agent.ts', import.meta.url));

/** A running child agent process. */
export interface ChildAgent {
  readonly proc: ChildProcess;
  /** Everything the child logged so far. */
  stderr(): string;
  /** Resolves with the exit code / signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Shifts the child's wall clock (monotonic clock untouched). */
  setClockOffset(ms: number): void;
}

/** Options of one child start. */
export interface SpawnOptions {
  failpoints?: FailpointName[];
  tunables?: Partial<Tunables>;
  clockOffsetMs?: number;
  agentVersion?: string;
  graceMs?: number;
}

/** A test world whose agent runs in child processes that can be killed with SIGKILL. */
export interface ProcWorld extends InvariantWorld {
  readonly dir: string;
  readonly fakeDir: string;
  readonly proxy: FaultProxy | null;
  readonly agentId: string;
  readonly secretsFile: string;
  readonly children: ChildAgent[];
  setPlan(plan: Partial<ProcPlan>): void;
  audit(): ProcAuditEvent[];
  spawnAgent(opts?: SpawnOptions): Promise<ChildAgent>;
  close(): Promise<void>;
}

/** Starts the reference orchestrator (+ optional proxy) and enrolls an agent whose state lives in files. */
export async function makeProcWorld(opts: { server?: Record<string, unknown>; proxy?: boolean } = {}): Promise<ProcWorld> {
  const dir = tempDir('rma-proc-');
  const fakeDir = join(dir, 'fake');
  mkdirSync(fakeDir, { recursive: true });
  const orch = await startReferenceOrchestrator(dir, { options: { ...FAST, ...opts.server } });
  const proxy = opts.proxy ? await createFaultProxy({ target: orch.url }) : null;
  const url = proxy?.url ?? orch.url;
  const dbFile = join(dir, 'agent', 'state.db');
  const secretsFile = join(dir, 'agent', 'secrets.json');
  const db: StateDb = openStateDb(dbFile, orchestratorMigrations);
  const et = await orch.admin.createEnrollmentToken({});
  const { agentId } = await enroll({
    url,
    enrollmentToken: et.token,
    insecureLoopback: true,
    secrets: new FileSecretStore(secretsFile),
    db,
    agentVersion: '0.1.0',
    hostname: 'proc-host',
  });
  const children: ChildAgent[] = [];
  const audit = () => readJsonl<ProcAuditEvent>(join(fakeDir, 'audit.jsonl'));
  const world: ProcWorld = {
    dir,
    fakeDir,
    proxy,
    agentId,
    secretsFile,
    children,
    orch,
    db,
    dbFile,
    setPlan: (plan) => writeFileSync(join(fakeDir, 'plan.json'), JSON.stringify(plan)),
    audit,
    runs(): RunView[] {
      const ev = audit();
      return ev
        .filter((e) => e.ev === 'start')
        .map((s) => {
          const end = ev.find((e) => e.ev === 'end' && e.pid === s.pid);
          return { leaseId: s.lease, taskId: s.task, startedAt: s.t, endedAt: end?.t ?? null, aborted: end?.aborted ?? true, argv: s.argv ?? [] };
        });
    },
    snapshotsForTask: (id) =>
      readJsonl<{ id: string; tags: string[] }>(join(fakeDir, 'snapshots.jsonl'))
        .filter((s) => s.tags.includes(`task=${id}`))
        .map((s) => s.id),
    texts: () => children.map((c) => c.stderr()),
    async spawnAgent(o = {}) {
      const cfg = { url, dbFile, secretsFile, fakeDir, tunables: o.tunables, clockOffsetMs: o.clockOffsetMs, agentVersion: o.agentVersion, graceMs: o.graceMs };
      const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: { ...process.env, CHILD_AGENT: JSON.stringify(cfg), RESTIC_AGENT_FAILPOINTS: (o.failpoints ?? []).join(',') },
      });
      let err = '';
      proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
      const child: ChildAgent = {
        proc,
        exited,
        stderr: () => err,
        setClockOffset: (ms) => proc.send({ clockOffsetMs: ms }),
      };
      children.push(child);
      let gone = false;
      void exited.then(() => (gone = true));
      await waitFor('child agent start', () => gone || err.includes('child agent started'), 20_000);
      if (gone && !err.includes('child agent started')) throw new Error(`child agent failed to start:\n${err}`);
      return child;
    },
    async close() {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      // Orphaned fake restic processes of a crashed agent.
      for (const r of world.runs())
        if (r.endedAt === null)
          try {
            process.kill(-audit().find((e) => e.lease === r.leaseId)!.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      await proxy?.close();
      await orch.stop();
      if (db.open) db.close();
    },
  };
  return world;
}

/** Waits for a child killed by its failpoint (SIGKILL). */
export async function expectKilled(c: ChildAgent, ms = 20_000): Promise<void> {
  const r = await Promise.race([c.exited, new Promise<null>((res) => setTimeout(() => res(null), ms))]);
  if (!r || r.signal !== 'SIGKILL') throw new Error(`agent was not killed by its failpoint (${JSON.stringify(r)}):\n${c.stderr().slice(-3000)}`);
}
