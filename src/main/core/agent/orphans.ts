import { readFileSync } from 'node:fs';

/**
 * A process's start time (clock ticks since boot, `/proc/<pid>/stat` field 22): with the pid it identifies one
 * process for good, so a recycled pid is never mistaken for a restic left over from a crash. Null off Linux.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie is dead for our purposes.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): the signal check is all we have
  }
}

/**
 * Stops a restic left running by a crashed agent process: only if the pid still belongs to the same process
 * (start time matches), SIGINT so restic removes its lock, then SIGKILL after the grace period.
 */
export async function killOrphan(pid: number, startTime: string | null, graceMs: number): Promise<void> {
  if (!alive(pid) || (startTime !== null && processStartTime(pid) !== startTime)) return;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGINT');
  const end = Date.now() + graceMs;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) signal('SIGKILL');
}
