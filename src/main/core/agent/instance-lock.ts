import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Who owns a data directory: the process that runs the schedules (the daemon or the tray app). */
export interface InstanceLock {
  /** True when this process owns the data directory. */
  readonly primary: boolean;
  /** The owner's pid when another live process owns it. */
  readonly ownerPid: number | null;
  release(): void;
}

/**
 * Takes `<dataDir>/agent.pid` when it is free or stale.
 *
 * One-shot CLI commands still run alongside a daemon (restic's own locks keep them safe), but only the
 * owner may treat open runs in the history as interrupted, and only one process may run the schedules.
 */
export function acquireInstanceLock(dataDir: string): InstanceLock {
  const file = join(dataDir, 'agent.pid');
  // Created exclusively (O_EXCL), so two processes starting at once cannot both become the owner.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readPid(file);
      if (owner === process.pid) break;
      if (owner !== null && alive(owner)) return { primary: false, ownerPid: owner, release: () => {} };
      // Stale (dead owner) or half-written: remove it and try once more; a second loss means a racer won.
      if (attempt > 0) return { primary: false, ownerPid: owner, release: () => {} };
      rmSync(file, { force: true });
    }
  }
  return {
    primary: true,
    ownerPid: null,
    release: () => {
      if (readPid(file) === process.pid) rmSync(file, { force: true });
    },
  };
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
