import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RepoAccess } from '../../../src/main/core/config/types.js';
import { buildEnv } from '../../../src/main/core/restic/env.js';

/** uid/gid of nobody:nogroup on Debian. */
const NOBODY = 65534;
export const isRoot = process.getuid?.() === 0;

/**
 * A restic executable for tests. As root (which reads every file) restic runs as `nobody` through a wrapper,
 * so a root-only file is really unreadable; `exec` keeps restic's PID, so our signals reach restic itself.
 */
export function resticAsNobody(dir: string, binary: string): string {
  if (!isRoot) return binary;
  const wrapper = join(dir, 'restic-as-nobody');
  writeFileSync(wrapper, `#!/bin/sh\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups -- "${binary}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** A directory restic (as nobody) may write to. */
export function writableDir(path: string): string {
  mkdirSync(path, { recursive: true });
  if (isRoot) chownSync(path, NOBODY, NOBODY);
  return path;
}

/** A source tree with two readable files and one file restic cannot read. */
export function sourceTree(path: string): { root: string; secret: string } {
  mkdirSync(join(path, 'sub'), { recursive: true });
  writeFileSync(join(path, 'a.txt'), 'alpha\n');
  writeFileSync(join(path, 'sub', 'b.txt'), 'bravo ünïcödé\n');
  // Not named "secret…": redact() masks `secret.txt: <message>` as if it were a NAME: value pair.
  const secret = join(path, 'unreadable.txt');
  writeFileSync(secret, 'top secret\n');
  // Root-owned 0600: unreadable for nobody. (Without root, mode 000 is unreadable for the owner too.)
  chmodSync(secret, isRoot ? 0o600 : 0o000);
  return { root: path, secret };
}

/**
 * Starts a `backup --stdin` that holds a (non-exclusive) lock until stopped: stdin stays open.
 * Stop it with SIGINT (restic removes its lock).
 */
export function holdLock(binary: string, repo: RepoAccess, cacheDir: string): ChildProcess {
  const env = buildEnv({ repo, cacheDir });
  return spawn(binary, ['backup', '--json', '--stdin', '--stdin-filename', 'hold.sql', '--host', 'holder'], { stdio: ['pipe', 'ignore', 'ignore'], env });
}

/** Stops a lock holder: SIGINT, then SIGKILL after `graceMs` (0.19 ignores SIGINT while blocked on an empty stdin). */
export async function stopHolder(holder: ChildProcess, graceMs = 3000): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return;
  const closed = new Promise((res) => holder.once('close', res));
  holder.kill('SIGINT');
  const t = setTimeout(() => holder.kill('SIGKILL'), graceMs);
  await closed;
  clearTimeout(t);
}
