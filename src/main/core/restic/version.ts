import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** A parsed `restic version` line. */
export interface ResticVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

/** `0.19.1`: the version as reported to people and orchestrators. */
export function versionNumber(v: ResticVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** What the detected restic binary supports (docs/spec/restic-cli.md §1). */
export interface ResticCapabilities {
  /** `init --json` prints `{"message_type":"initialized"}`. */
  readonly initJson: boolean;
  /** Backup summary carries the full 64-hex `snapshot_id` (0.14: 8 chars). */
  readonly fullSnapshotId: boolean;
  readonly readConcurrency: boolean;
  readonly restoreJson: boolean;
  /** Global `--retry-lock <dur>`. */
  readonly retryLock: boolean;
  /** Exit codes 10 (no repo) and 11 (lock failed). */
  readonly exitCodesRepoLock: boolean;
  /** Exit code 12 (wrong password). */
  readonly exitCodeWrongPassword: boolean;
  /** SIGTERM is handled gracefully (≤0.16 dies and leaves a lock). */
  readonly gracefulSigterm: boolean;
  /** `exit_error` JSON line on stderr. */
  readonly exitErrorJson: boolean;
  readonly checkJson: boolean;
  /** `forget --prune --json` prints only JSON (≤0.18: JSON then prune text). */
  readonly forgetPrunePureJson: boolean;
  /** `forget` without a policy fails (exit 1) instead of doing nothing. */
  readonly forgetNoPolicyIsError: boolean;
  /** `backup --stdin-from-command`: restic runs the dump command and refuses a snapshot when it fails. */
  readonly stdinFromCommand: boolean;
}

const VERSION_RE = /^restic (\d+)\.(\d+)\.(\d+)(\S*)/m;

/** Parses `restic version` output; null when it is not restic's version line. */
export function parseResticVersion(text: string): ResticVersion | null {
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  const line = text.slice(m.index).split('\n', 1)[0] ?? m[0];
  return { raw: line.trim(), major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** True when `v` is at least `major.minor.patch`. */
export function atLeast(v: ResticVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** The capability table for a version. */
export function capabilities(v: ResticVersion): ResticCapabilities {
  return {
    initJson: atLeast(v, 0, 15),
    fullSnapshotId: atLeast(v, 0, 15),
    readConcurrency: atLeast(v, 0, 15),
    restoreJson: atLeast(v, 0, 16),
    retryLock: atLeast(v, 0, 16),
    exitCodesRepoLock: atLeast(v, 0, 17),
    exitCodeWrongPassword: atLeast(v, 0, 17, 1),
    gracefulSigterm: atLeast(v, 0, 17),
    exitErrorJson: atLeast(v, 0, 18),
    checkJson: atLeast(v, 0, 18),
    forgetPrunePureJson: atLeast(v, 0, 19),
    forgetNoPolicyIsError: atLeast(v, 0, 17),
    stdinFromCommand: atLeast(v, 0, 17),
  };
}

/**
 * Runs `<binary> version` once and parses it.
 *
 * Throws a readable error when the binary is missing, not executable, or prints something that is not restic.
 */
export async function detectResticVersion(binary: string, timeoutMs = 15_000): Promise<ResticVersion> {
  const { code, stdout, stderr, error } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    error: NodeJS.ErrnoException | null;
  }>((resolve) => {
    let out = '';
    let err = '';
    const child = spawn(binary, ['version'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', LANG: 'C.UTF-8' },
      timeout: timeoutMs,
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(0, 64_000)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(0, 64_000)));
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: out, stderr: err, error: e }));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err, error: null }));
  });
  if (error) {
    const why = error.code === 'ENOENT' ? 'not found' : error.code === 'EACCES' ? 'not executable' : error.message;
    throw new Error(`restic binary "${binary}" ${why}: set restic.binary in the config to the path of restic`);
  }
  const v = parseResticVersion(stdout);
  if (!v) {
    const said = (stdout || stderr).trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new Error(
      `"${binary}" does not look like restic ("${binary} version" exited ${String(code)} and printed "${said}"): ` + 'set restic.binary to a restic executable',
    );
  }
  return v;
}

/**
 * `detectResticVersion`, remembered in `cacheFile` for the same executable (path, size, mtime, inode): a fresh
 * `restic-agent backup` then starts without running `restic version` first (~50 ms per CLI run). Any change of
 * the binary (an upgrade) runs it again.
 */
export async function detectResticVersionCached(binary: string, cacheFile: string): Promise<ResticVersion> {
  const file = resolveExecutable(binary);
  const id = file ? fileIdentity(file) : null;
  if (id) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { id?: string; raw?: string };
      const v = cached.id === id && typeof cached.raw === 'string' ? parseResticVersion(cached.raw) : null;
      if (v) return v;
    } catch {
      // no cache yet, or unreadable: detect
    }
  }
  const v = await detectResticVersion(binary);
  if (id) {
    try {
      mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
      writeFileSync(cacheFile, JSON.stringify({ id, raw: v.raw }) + '\n', { mode: 0o600 });
    } catch {
      // a read-only data dir only costs the detection next time
    }
  }
  return v;
}

/** The file `binary` names: itself when it has a path separator, else the first match on PATH. */
function resolveExecutable(binary: string): string | null {
  if (binary.includes('/') || binary.includes('\\')) return binary;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function fileIdentity(file: string): string | null {
  try {
    const s = statSync(file);
    return `${file}:${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return null;
  }
}
