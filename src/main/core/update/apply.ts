import { execFile } from 'node:child_process';
import { copyFile, link, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { UpdateRefused } from './manifest.js';

const run = promisify(execFile);

/** Where a new binary is staged: next to the running one (same file system, so the swap is one rename). */
export function stagedPath(binary: string, version: string): string {
  return join(dirname(binary), `.${basename(binary)}.${version}.new`);
}

/** `<binary>.previous`: the binary the last update replaced (what `update --rollback` puts back). */
export function previousPath(binary: string): string {
  return `${binary}.previous`;
}

/** Removes staged binaries an interrupted update left behind (a crash, a kill -9, a refused download). */
export async function removeStaged(binary: string): Promise<string[]> {
  const prefix = `.${basename(binary)}.`;
  const left = (await readdir(dirname(binary)).catch(() => [] as string[])).filter((f) => f.startsWith(prefix) && f.endsWith('.new'));
  await Promise.all(left.map((f) => rm(join(dirname(binary), f), { force: true })));
  return left;
}

/**
 * The health check, before anything is swapped: the new binary, on a copy of the state database, must start,
 * open (and migrate) it, in managed mode complete one heartbeat, and name the expected version — all within
 * `timeoutMs`. Resolves when it passed; throws UpdateRefused saying what it did instead.
 */
export async function healthCheck(
  staged: string,
  opts: { configPath: string; copyState: (to: string) => Promise<void>; expectVersion: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'restic-agent-update-'));
  try {
    const copy = join(dir, 'state.db');
    await opts.copyState(copy);
    const r = await run(staged, ['--config', opts.configPath, '--json', 'update', 'self-check', '--state-copy', copy], {
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 20,
      env: opts.env ?? process.env,
    }).catch((e: NodeJS.ErrnoException & { stdout?: string; stderr?: string; killed?: boolean; code?: number | string }) => {
      const said = `${e.stderr ?? ''}`.trim().split('\n').at(-1)?.slice(0, 300);
      const why = e.killed ? `did not pass within ${Math.round(opts.timeoutMs / 1000)} s` : typeof e.code === 'number' ? `exited ${e.code}` : e.message;
      throw new UpdateRefused(`the new version failed its health check: it ${why}${said ? ` (${said})` : ''}`);
    });
    let version: unknown;
    try {
      version = (JSON.parse(r.stdout) as { version?: unknown }).version;
    } catch {
      throw new UpdateRefused('the new version failed its health check: its self-check printed no result');
    }
    if (version !== opts.expectVersion) throw new UpdateRefused(`the new binary says it is ${String(version)}, the signed manifest says ${opts.expectVersion}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Puts `staged` in place of `binary`, keeping the old one as `<binary>.previous`. POSIX: the old binary is
 * hard-linked aside, then one rename replaces it, so a crash at any point leaves a runnable `binary`. Windows,
 * where a running .exe cannot be replaced but can be renamed: it is renamed aside first.
 */
export async function swapIn(binary: string, staged: string, platform = process.platform): Promise<void> {
  const previous = previousPath(binary);
  await rm(previous, { force: true });
  if (platform === 'win32') {
    await rename(binary, previous);
    await rename(staged, binary).catch(async (e: Error) => {
      await rename(previous, binary);
      throw e;
    });
    return;
  }
  await link(binary, previous).catch(() => copyFile(binary, previous));
  await rename(staged, binary);
}

/** `update --rollback`: the previous binary back in place (the current one becomes the previous). */
export async function rollBack(binary: string, platform = process.platform): Promise<void> {
  const previous = previousPath(binary);
  const aside = stagedPath(binary, 'rollback');
  await copyFile(previous, aside).catch((e: NodeJS.ErrnoException) => {
    throw new UpdateRefused(e.code === 'ENOENT' ? `there is no ${basename(previous)} to roll back to` : e.message);
  });
  await swapIn(binary, aside, platform);
}
