import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** A container a run changed and has not put back yet: one it stopped, or a helper it created. */
export interface JournalledContainer {
  readonly socket: string;
  /** The container's id, or its name when the entry is written before the container exists. */
  readonly id: string;
  readonly name: string;
}

/** `stopped`: start it again. `helper`: remove it. */
export type JournalKind = 'stopped' | 'helper';

const entryPath = (stateDir: string, kind: JournalKind, id: string): string => join(stateDir, `${kind}-${id}.json`);

/**
 * One file per container, written (and synced) before the container is stopped or created, removed once it is put
 * back: after a crash, what is left is exactly what must be undone.
 */
export async function journal(stateDir: string, kind: JournalKind, c: JournalledContainer): Promise<void> {
  const file = await open(entryPath(stateDir, kind, c.id), 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(c));
    await file.sync();
  } finally {
    await file.close();
  }
}

export async function unjournal(stateDir: string, kind: JournalKind, id: string): Promise<void> {
  await rm(entryPath(stateDir, kind, id), { force: true });
}

/** Every container of `kind` a run changed and did not put back (a crash, or a start that failed). */
export async function journalled(stateDir: string, kind: JournalKind): Promise<JournalledContainer[]> {
  const names = (await readdir(stateDir)).filter((n) => n.startsWith(`${kind}-`) && n.endsWith('.json'));
  const entries: JournalledContainer[] = [];
  for (const n of names) {
    try {
      entries.push(JSON.parse(await readFile(join(stateDir, n), 'utf8')) as JournalledContainer);
    } catch {
      // Torn by a crash before its sync: the container was not changed yet.
      await rm(join(stateDir, n), { force: true });
    }
  }
  return entries;
}
