import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import { createAgentCore } from '../../../src/main/core/agent/create.js';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import type { RunRecord } from '../../../src/shared/model/run.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { useCheapKdf } from '../../helpers/fast-kdf.js';

const run = promisify(execFile);

/** A restic repository in the test's temp dir, initialised with the password in `passFile`. */
export interface TestRepo {
  readonly url: string;
  readonly passFile: string;
}

const PASSWORD = 'correct horse battery staple';
const templates = new Map<string, Promise<string>>();
const templateDirs: string[] = [];
afterAll(() => {
  for (const d of templateDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** One empty repository per restic binary, initialised once and re-keyed with cheap scrypt (see fast-kdf.ts). */
function template(binary: string): Promise<string> {
  let made = templates.get(binary);
  if (!made) {
    const dir = mkdtempSync(join(tmpdir(), 'rma-sched-tpl-'));
    templateDirs.push(dir);
    writeFileSync(join(dir, 'pass'), `${PASSWORD}\n`, { mode: 0o600 });
    made = run(binary, ['-r', join(dir, 'repo'), '--password-file', join(dir, 'pass'), '--no-cache', 'init']).then(() => {
      useCheapKdf(join(dir, 'repo'), PASSWORD);
      return join(dir, 'repo');
    });
    templates.set(binary, made);
  }
  return made;
}

/**
 * A fresh, empty repository for the given restic binary (a copy of one `restic init` made outside the agent,
 * like a user would), with its password in `passFile`.
 */
export async function initRepo(binary: string, dir: string, name: string): Promise<TestRepo> {
  const url = join(dir, `repo-${name}`);
  const passFile = join(dir, `pass-${name}`);
  writeFileSync(passFile, `${PASSWORD}\n`, { mode: 0o600 });
  cpSync(await template(binary), url, { recursive: true });
  return { url, passFile };
}

/** A folder with `mb` MiB of random (incompressible) data in 1 MiB files. */
export function randomSource(dir: string, name: string, mb: number): string {
  const src = join(dir, `src-${name}`);
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < mb; i++) writeFileSync(join(src, `blob-${i}.bin`), randomBytes(1024 * 1024));
  if (mb === 0) writeFileSync(join(src, 'small.txt'), 'hello\n');
  return src;
}

/** Writes `<dir>/config.yaml` from YAML lines, with the test's restic binary, cache and file secrets. */
export function writeConfig(dir: string, binary: string, lines: ReadonlyArray<string>, opts: { catchUpDelay?: string } = {}): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      `agent: { id: sched-test, hostname: sched-host, catch_up_delay: ${opts.catchUpDelay ?? '1s'} }`,
      `restic: { binary: ${binary}, cache_dir: ${join(dir, 'cache')}, retry_lock: 0s, cancel_grace: 2s }`,
      'secrets: { backend: file }',
      ...lines,
    ].join('\n'),
  );
  return file;
}

/** Starts the real agent core with schedules on `<dir>/config.yaml` and `<dir>/data`. */
export function startCore(dir: string): Promise<AgentCore> {
  return createAgentCore({ configPath: join(dir, 'config.yaml'), dataDir: join(dir, 'data'), schedule: true });
}

/** The run history oldest first (getHistory lists newest first). */
export async function history(core: AgentCore, source?: string): Promise<RunRecord[]> {
  return [...(await core.getHistory({ limit: 1000, ...(source ? { source } : {}) }))].reverse();
}

/** Wall ms of an ISO time that must be there. */
export function t(iso: string | null): number {
  if (iso === null) throw new Error('expected a time, got null');
  return Date.parse(iso);
}

/**
 * Someone else holding the repository's exclusive lock: a `restic check --read-data` throttled to a crawl,
 * started outside the agent. Resolves once its lock file exists; `release()` interrupts it and removes
 * whatever lock it left (restic ≤0.16 may leave one on signals).
 */
export async function holdExclusiveLock(binary: string, repo: TestRepo): Promise<{ release: () => Promise<void> }> {
  const args = ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', '--limit-download', '4', 'check', '--read-data'];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const locks = (): string[] => readdirSync(join(repo.url, 'locks'));
  try {
    await waitFor('the external check to take its lock', () =>
      child.exitCode !== null ? Promise.reject(new Error(`check exited: ${stderr}`)) : locks().length > 0,
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    release: async () => {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      if (locks().length > 0) await run(binary, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'unlock']);
    },
  };
}
