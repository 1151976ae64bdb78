import type { RepoAccess } from '../config/types.js';
import { registerSecret } from '../log/redact.js';

/** What the child environment is built from. */
export interface EnvInput {
  readonly repo: RepoAccess;
  readonly cacheDir: string | null;
  /** The agent's own environment; only PATH, HOME, TMPDIR (and Windows basics) are taken from it. */
  readonly base?: NodeJS.ProcessEnv;
}

/** Variables of the agent's own environment that restic may see. Nothing named RESTIC_* is ever inherited. */
const KEEP = ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT', 'USERPROFILE', 'LOCALAPPDATA', 'APPDATA', 'TEMP', 'TMP'] as const;

/**
 * Builds restic's environment from scratch: a few basics from the agent's env, the repository, exactly one
 * password variable, the cache dir, `RESTIC_PROGRESS_FPS=1`, and the repository's backend variables.
 */
export function buildEnv(input: EnvInput): Record<string, string> {
  const env = basics(input.base ?? process.env);
  // Backend variables first, so the repository and password below always win over them.
  for (const [k, v] of Object.entries(input.repo.env)) {
    if (/^RESTIC_(PASSWORD|PASSWORD_FILE|PASSWORD_COMMAND|REPOSITORY|REPOSITORY_FILE|CACHE_DIR|PROGRESS_FPS)$/.test(k)) {
      throw new Error(`repository env: ${k} is managed by the agent — remove it from the repository's env`);
    }
    env[k] = v;
    if (/PASSWORD|SECRET|TOKEN|KEY/i.test(k)) registerSecret(v);
  }
  env.RESTIC_REPOSITORY = input.repo.url;
  const pw = input.repo.password;
  if (pw.kind === 'value') {
    registerSecret(pw.value);
    env.RESTIC_PASSWORD = pw.value;
  } else if (pw.kind === 'file') {
    env.RESTIC_PASSWORD_FILE = pw.path;
  } else {
    env.RESTIC_PASSWORD_COMMAND = pw.command;
  }
  if (input.cacheDir) env.RESTIC_CACHE_DIR = input.cacheDir;
  env.RESTIC_PROGRESS_FPS = '1';
  return env;
}

/**
 * The whole environment of a dump command the agent starts (`pg_dump`, `slapcat`): the agent's basics, and the
 * plugin's own variables (`PGPASSFILE`). Built from scratch like restic's, so no repository secret reaches it.
 */
export function dumpEnv(own: Readonly<Record<string, string>> = {}, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { ...basics(base), ...own };
}

/** PATH, HOME, TMPDIR (and Windows basics) from `base`, and a UTF-8 locale. */
function basics(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of KEEP) {
    const v = base[k];
    if (v !== undefined) env[k] = v;
  }
  env.LANG = 'C.UTF-8';
  return env;
}
