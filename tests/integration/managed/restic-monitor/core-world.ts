/**
 * A managed agent as a user sets it up: a YAML config file, a local repository with a password file, the shared
 * credential stored by the real CLI (`restic-agent enroll`), and the real agent core (in-process or as the CLI's
 * `run` in a child process). Nothing of the agent is faked; only the server is (or is the reference orchestrator).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LogEntry } from '../../../../src/shared/model/log.js';
import type { AgentCore } from '../../../../src/main/core/agent/contract.js';
import { createAgentCore } from '../../../../src/main/core/agent/create.js';
import { tempDir } from '../../../helpers/tmp.js';
import { initRepo, snapshots } from './restic-executor.js';

const CLI = fileURLToPath(new URL('../../../../src/main/cli.ts', import.meta.url));
const execFileP = promisify(execFile);

export const REPO_PASSWORD = 'correct horse battery staple';

/** One agent's files on disk. */
export interface CoreWorld {
  readonly dir: string;
  readonly configPath: string;
  readonly dataDir: string;
  readonly cacheDir: string;
  readonly repo: string;
  readonly src: string;
  readonly bin: string;
  readonly hostname: string;
  /** restic snapshots in the repository (optionally with a tag), read with real restic. */
  snapshots(tag?: string): Promise<Array<{ id: string; tags?: string[]; paths?: string[] }>>;
}

/** How the `orchestrator:` section of the YAML reads. */
export interface OrchestratorSection {
  readonly url: string;
  readonly protocol: 'v1' | 'restic-monitor' | 'auto';
}

/** Creates the files of a user-configured agent (repository initialised with real restic). */
export async function makeCoreWorld(bin: string, orchestrator: OrchestratorSection | null, prefix = 'rm-core-'): Promise<CoreWorld> {
  const dir = tempDir(prefix);
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  const dataDir = join(dir, 'data');
  const cacheDir = join(dir, 'cache');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'hello restic-monitor\n');
  writeFileSync(join(src, 'sub', 'b.txt'), 'b'.repeat(10_000));
  writeFileSync(join(src, 'skip.tmp'), 'excluded');
  writeFileSync(join(dir, 'pass'), `${REPO_PASSWORD}\n`, { mode: 0o600 });
  await initRepo(bin, repo, REPO_PASSWORD, cacheDir);
  const hostname = `rm-core-${Math.random().toString(36).slice(2, 8)}`;
  const configPath = join(dir, 'config.yaml');
  writeConfig(configPath, { bin, hostname, repo, pass: join(dir, 'pass'), dataDir, cacheDir }, orchestrator);
  return {
    dir,
    configPath,
    dataDir,
    cacheDir,
    repo,
    src,
    bin,
    hostname,
    snapshots: (tag) => snapshots(bin, repo, REPO_PASSWORD, cacheDir, tag),
  };
}

/** The YAML a user would write (credentials live locally; the server never sends them). */
function writeConfig(
  path: string,
  v: { bin: string; hostname: string; repo: string; pass: string; dataDir: string; cacheDir: string },
  o: OrchestratorSection | null,
): void {
  const lines = [
    `agent: { id: ${v.hostname}, hostname: ${v.hostname}, data_dir: ${v.dataDir}, poll_interval: 1s, heartbeat_interval: 1s }`,
    `restic: { binary: ${v.bin}, cache_dir: ${v.cacheDir} }`,
    'repositories:',
    `  main: { url: ${v.repo}, password_file: ${v.pass} }`,
    // Its password was never stored in the secret store: tasks for it must fail cleanly, not stall the agent.
    `  vault: { url: ${v.repo}-vault, password_keyring: "repo:vault:password" }`,
    'secrets: { backend: file }',
  ];
  if (o) lines.push(`orchestrator: { url: "${o.url}", protocol: ${o.protocol}, insecure_loopback: true }`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Result of one CLI invocation. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `restic-agent --config <file> …` from the sources (the CLI as a user runs it; tsx instead of dist/). */
export async function cli(w: CoreWorld, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['--import', 'tsx', CLI, '--config', w.configPath, ...args], {
      env: cliEnv(w),
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** `restic-agent run` as a long-lived child process (stderr collected for diagnostics). */
export function cliRun(w: CoreWorld): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--config', w.configPath, 'run'], { env: cliEnv(w), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { child, stderr: () => err };
}

function cliEnv(w: CoreWorld): NodeJS.ProcessEnv {
  return { ...process.env, XDG_CACHE_HOME: join(w.dir, 'xdg-cache'), RESTIC_AGENT_DATA_DIR: w.dataDir };
}

/** The agent core in this process, started the way `restic-agent run` starts it; logs collected. */
export async function startCore(w: CoreWorld): Promise<{ core: AgentCore; logs: LogEntry[] }> {
  const logs: LogEntry[] = [];
  const core = await createAgentCore({ configPath: w.configPath, dataDir: w.dataDir, schedule: true, onLog: (e) => logs.push(e) });
  return { core, logs };
}
