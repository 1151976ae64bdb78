import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** A container the agent stopped for a copy and has not started again yet. */
export interface StoppedContainer {
  readonly socket: string;
  readonly id: string;
  readonly name: string;
}

const PREFIX = 'stopped-';

const entryPath = (stateDir: string, id: string): string => join(stateDir, `${PREFIX}${id}.json`);

/**
 * One file per stopped container, written (and synced) before the container is stopped and removed once it runs
 * again: after a crash, what is left is exactly what must be started.
 */
export async function journalStopped(stateDir: string, c: StoppedContainer): Promise<void> {
  const file = await open(entryPath(stateDir, c.id), 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(c));
    await file.sync();
  } finally {
    await file.close();
  }
}

export async function journalStarted(stateDir: string, id: string): Promise<void> {
  await rm(entryPath(stateDir, id), { force: true });
}

/** Every container a run stopped and did not start again (a crash, or a start that failed). */
export async function journalled(stateDir: string): Promise<StoppedContainer[]> {
  const names = (await readdir(stateDir)).filter((n) => n.startsWith(PREFIX) && n.endsWith('.json'));
  const entries: StoppedContainer[] = [];
  for (const n of names) {
    try {
      entries.push(JSON.parse(await readFile(join(stateDir, n), 'utf8')) as StoppedContainer);
    } catch {
      // Torn by a crash before its sync: the container was not stopped yet.
      await rm(join(stateDir, n), { force: true });
    }
  }
  return entries;
}
