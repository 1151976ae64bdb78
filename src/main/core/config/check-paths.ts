/**
 * File-system checks of a valid configuration, for `config validate` and for start-up: a source that does not
 * exist or a password file that cannot be read would otherwise only show up as a failed backup hours later.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { sourcePlugin } from '../plugins/registry.js';
import { onPath } from '../restic/runner.js';
import type { ConfigIssue } from './errors.js';
import type { AgentConfig } from './types.js';

/** Where removable media and network shares are mounted: a missing source there may appear later. */
const MOUNT_ROOTS = ['/mnt/', '/media/', '/run/media/', '/Volumes/', '/net/', '/srv/nfs/'];

export interface PathCheck {
  readonly errors: ConfigIssue[];
  readonly warnings: string[];
}

/** Checks sources and password files on this machine. Paths are those of the normalised config (`~` expanded). */
export function checkPaths(config: AgentConfig): PathCheck {
  const errors: ConfigIssue[] = [];
  const warnings: string[] = [];
  config.sources.forEach((s, i) => {
    if (s.plugin) {
      // A plugin source's preflight: its dump tools must be there (the agent runs them without a shell).
      for (const tool of new Set(sourcePlugin(s.plugin.kind).tools(s.plugin.instance))) {
        if (!onPath(tool))
          errors.push({ path: `plugins.${s.plugin.kind}`, message: `${s.path}: "${tool}" was not found on PATH: install it or give its absolute path` });
      }
      return;
    }
    const why = missing(s.path);
    if (!why) return;
    if (MOUNT_ROOTS.some((root) => s.path.startsWith(root))) {
      warnings.push(`backup.sources[${i}].path: ${s.path} ${why}; it is under a mount point, so it may appear once mounted (backups of it fail until then)`);
    } else {
      errors.push({ path: `backup.sources[${i}].path`, message: `${s.path} ${why}: fix the path or remove the source` });
    }
  });
  for (const repo of Object.values(config.repositories)) {
    if (repo.password.kind !== 'file') continue;
    // A single top-level `repository:` is the one named "default".
    const at = repo.name === 'default' ? 'repository' : `repositories.${repo.name}`;
    const why = unreadable(repo.password.path);
    if (why) errors.push({ path: `${at}.password_file`, message: `${repo.password.path} ${why}` });
  }
  return { errors, warnings };
}

function missing(path: string): string | null {
  try {
    statSync(path);
    return null;
  } catch (e) {
    return describe(e as NodeJS.ErrnoException);
  }
}

function unreadable(path: string): string | null {
  try {
    if (statSync(path).isDirectory()) return 'is a directory, not a file';
    accessSync(path, constants.R_OK);
    return null;
  } catch (e) {
    return describe(e as NodeJS.ErrnoException);
  }
}

function describe(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return `cannot be read (permission denied, running as uid ${process.getuid?.() ?? '?'})`;
    case 'ENOTDIR':
      return 'does not exist (a part of the path is not a directory)';
    default:
      return `cannot be read (${e.code ?? e.message})`;
  }
}
