/**
 * Shared by the managed-mode benchmarks and `npm run demo`: a reference orchestrator on loopback (optionally
 * behind the fault proxy, which logs every request), a local restic repository, and a REAL agent process
 * (`node bin/restic-agent.js … enroll`, then `… run` as a child) whose JSON log lines are parsed as they come.
 *
 * Not a benchmark itself: `bench/index.ts` skips files starting with `_`.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FaultProxy } from '../reference-orchestrator/testing/fault-proxy.js';
import { createFaultProxy } from '../reference-orchestrator/testing/fault-proxy.js';
import type { OrchestratorOptions } from '../reference-orchestrator/options.js';
import type { AdminTaskView, ReferenceOrchestrator } from '../reference-orchestrator/testing/index.js';
import { startReferenceOrchestrator } from '../reference-orchestrator/testing/index.js';

const exec = promisify(execFile);

/** The checkout's `bin/restic-agent.js` (needs `npm run build:node`, which `npm ci` runs). */
export const AGENT_CLI = fileURLToPath(new URL('../bin/restic-agent.js', import.meta.url));
const SID = fileURLToPath(new URL('../vendor/restic-sid/usr/bin/restic', import.meta.url));

/** Task states after which nothing changes any more. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'rejected', 'deleted']);

/** `$BENCH_RESTIC` if set, else the newest restic available: `vendor/restic-sid` (scripts/setup.sh), else `restic` on PATH. */
export function resticBinary(): string {
  return process.env.BENCH_RESTIC || (existsSync(SID) ? SID : 'restic');
}

/** Runs restic against `repo` with the password in the environment (never in argv); returns stdout. */
export async function restic(bin: string, repo: { url: string; password: string }, args: string[]): Promise<string> {
  const { stdout } = await exec(bin, args, {
    env: { ...process.env, RESTIC_REPOSITORY: repo.url, RESTIC_PASSWORD: repo.password, RESTIC_CACHE_DIR: join(repo.url, '..', 'restic-cache') },
    maxBuffer: 1 << 26,
  });
  return stdout;
}

/** One parsed `--log-format json` line of the agent's stderr (non-JSON lines keep `message` only). */
export interface AgentLine {
  /** Agent's wall-clock timestamp (ISO), or when the line was read if it had none. */
  readonly time: string;
  readonly level: string;
  readonly message: string;
}

/** A running `restic-agent run` child. */
export interface AgentProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly lines: AgentLine[];
  /** Calls `cb` for every later line; returns an unsubscribe function. */
  onLine(cb: (l: AgentLine) => void): () => void;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM (graceful: the agent drains and sends a final heartbeat), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Writes the agent's config: file secrets (no keyring prompt), restic binary and cache under `dir`. */
export function writeAgentConfig(dir: string, resticBin: string): string {
  const file = join(dir, 'agent.yaml');
  writeFileSync(
    file,
    [
      '# written by the demo / benchmark harness; `restic-agent enroll` adds the orchestrator section',
      `restic: { binary: ${JSON.stringify(resticBin)}, cache_dir: ${JSON.stringify(join(dir, 'agent-cache'))} }`,
      'secrets: { backend: file }',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

/** `restic-agent enroll --url … --token … --insecure-loopback` as a real process; returns the agent id. */
export async function enrollAgent(o: { configFile: string; dataDir: string; url: string; token: string }): Promise<string> {
  const { stdout } = await exec(
    process.execPath,
    [AGENT_CLI, '--config', o.configFile, '--json', '--quiet', 'enroll', '--url', o.url, '--token', o.token, '--insecure-loopback'],
    { env: { ...process.env, RESTIC_AGENT_DATA_DIR: o.dataDir }, timeout: 60_000 },
  );
  const out = JSON.parse(stdout) as { agentId?: string | null; dialect?: string };
  if (!out.agentId || out.dialect !== 'v1') throw new Error(`enroll answered ${stdout.trim()}: expected a v1 agent id`);
  return out.agentId;
}

/** Starts `restic-agent run` as a child process with JSON log lines on stderr. */
export function startAgent(o: { configFile: string; dataDir: string; env?: Record<string, string> }): AgentProcess {
  const child = spawn(process.execPath, [AGENT_CLI, '--config', o.configFile, '--log-format', 'json', 'run'], {
    env: { ...process.env, RESTIC_AGENT_DATA_DIR: o.dataDir, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: AgentLine[] = [];
  const subs = new Set<(l: AgentLine) => void>();
  const take = (raw: string): void => {
    let line: AgentLine;
    try {
      const j = JSON.parse(raw) as { time?: string; level?: string; message?: string };
      line = { time: j.time ?? new Date().toISOString(), level: j.level ?? 'info', message: j.message ?? raw };
    } catch {
      line = { time: new Date().toISOString(), level: 'info', message: raw };
    }
    lines.push(line);
    for (const cb of subs) cb(line);
  };
  createInterface({ input: child.stderr! }).on('line', take);
  createInterface({ input: child.stdout! }).on('line', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  if (child.pid === undefined) throw new Error('could not start the agent process');
  return {
    pid: child.pid,
    child,
    lines,
    onLine(cb) {
      subs.add(cb);
      return () => subs.delete(cb);
    },
    exited,
    async stop(timeoutMs = 15_000) {
      if (done) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Polls `fn` until it returns something truthy; throws `what` after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Everything a managed-mode benchmark or the demo runs against. */
export interface ManagedStack {
  readonly dir: string;
  readonly orch: ReferenceOrchestrator;
  /** The fault proxy in front of the orchestrator (the agent talks to it), when asked for. */
  readonly proxy: FaultProxy | null;
  /** The URL the agent was enrolled with (the proxy's when there is one). */
  readonly agentUrl: string;
  readonly agentId: string;
  readonly agent: AgentProcess;
  readonly configFile: string;
  readonly dataDir: string;
  readonly resticBin: string;
  /** The repository tasks go to; the password is delivered with each task. */
  readonly repo: { readonly repoId: string; readonly url: string; readonly password: string };
  /** Queues a task for this agent with the repository credentials attached. */
  createTask(type: AdminTaskView['type'], params: Record<string, unknown>): Promise<AdminTaskView>;
  /** Polls the admin API until the task is terminal. */
  waitTerminal(taskId: string, timeoutMs?: number): Promise<AdminTaskView>;
  /** Stops the agent, proxy and orchestrator and removes the temp dir (unless `keep`). */
  close(keep?: boolean): Promise<void>;
}

/** Options of `startManagedStack`. */
export interface StackOptions {
  readonly orchestratorOptions?: Partial<OrchestratorOptions>;
  readonly proxy?: boolean;
  /** restic binary the agent runs (e.g. a wrapper); default `resticBinary()`. */
  readonly agentRestic?: string;
  readonly agentEnv?: Record<string, string>;
  /** Temp dir prefix. */
  readonly prefix?: string;
  /** Called with each step's description (the demo prints them). */
  readonly step?: (what: string) => void;
}

/** Starts orchestrator (+ proxy), initialises a repository, enrolls and starts a real agent process. */
export async function startManagedStack(o: StackOptions = {}): Promise<ManagedStack> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix ?? 'rma-managed-'));
  const step = o.step ?? (() => {});
  const cleanups: Array<() => Promise<unknown>> = [];
  const closeAll = async (keep = false): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const resticBin = resticBinary();
    const orch = await startReferenceOrchestrator(dir, { options: o.orchestratorOptions ?? {} });
    cleanups.push(() => orch.stop());
    step(`reference orchestrator listening on ${orch.url} (database ${orch.dbFile})`);
    const proxy = o.proxy ? await createFaultProxy({ target: orch.url }) : null;
    if (proxy) {
      cleanups.push(() => proxy.close());
      step(`fault proxy on ${proxy.url} in front of it (counts every agent request)`);
    }
    const agentUrl = proxy ? proxy.url : orch.url;

    const repo = { repoId: 'demo-repo', url: join(dir, 'repository'), password: randomBytes(18).toString('base64url') };
    await restic(resticBin, repo, ['init']);
    step(`restic repository created at ${repo.url} (${resticBin}); its password exists only in the orchestrator's task data`);

    const dataDir = join(dir, 'agent-data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const configFile = writeAgentConfig(dir, o.agentRestic ?? resticBin);
    const { token } = await orch.admin.createEnrollmentToken({ ttl_s: 600, max_uses: 1 });
    step(`enrollment token created (single use, 10 min): ${token.slice(0, 12)}…`);
    const agentId = await enrollAgent({ configFile, dataDir, url: agentUrl, token });
    step(`restic-agent enroll → agent id ${agentId}; agent token stored in ${join(dataDir, 'secrets.json')} (mode 0600), not in ${configFile}`);

    const agent = startAgent({ configFile, dataDir, ...(o.agentEnv ? { env: o.agentEnv } : {}) });
    cleanups.push(() => agent.stop());
    step(`restic-agent run started (pid ${agent.pid})`);
    await waitFor(async () => (await orch.admin.getAgent(agentId)).online, 'the agent to send its first heartbeat', 30_000, 100);
    step('agent is online (first heartbeat received)');

    const stack: ManagedStack = {
      dir,
      orch,
      proxy,
      agentUrl,
      agentId,
      agent,
      configFile,
      dataDir,
      resticBin,
      repo,
      createTask: (type, params) =>
        orch.admin.createTask(agentId, type, params, { repo: { repo_id: repo.repoId, url: repo.url, password: repo.password, env: {} } }),
      waitTerminal: (taskId, timeoutMs = 120_000) =>
        waitFor(
          async () => {
            const t = await orch.admin.getTask(taskId);
            return TERMINAL_STATES.has(t.state) ? t : null;
          },
          `task ${taskId} to finish`,
          timeoutMs,
          50,
        ),
      close: closeAll,
    };
    return stack;
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Resident set size and CPU seconds (user + system) of a process, from /proc (Linux). */
export function procSample(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  // Fields after the parenthesised command name (which may contain spaces): utime is field 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / clockTicks() };
}

let hz: number | null = null;
/** CLK_TCK (jiffies per second), 100 on mainstream Linux; asked from getconf once. */
function clockTicks(): number {
  if (hz === null) {
    try {
      hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      hz = 100;
    }
  }
  return hz;
}

/** The p-th percentile (0–100, nearest rank) of `xs`. */
export function percentile(xs: ReadonlyArray<number>, p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Mean of `xs`. */
export function mean(xs: ReadonlyArray<number>): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Reads a duration in seconds from an environment variable, or the default. */
export function envSeconds(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number of seconds`);
  return n;
}
