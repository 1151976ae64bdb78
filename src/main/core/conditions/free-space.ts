import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Bytes available to this user on the file system holding `path` (the nearest existing ancestor when the
 * path does not exist yet, e.g. a cache dir restic has not created), or null when unknown.
 */
export async function freeBytes(path: string): Promise<number | null> {
  let p = resolve(path);
  for (;;) {
    try {
      const s = await statfs(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const up = dirname(p);
      if (up === p) return null;
      p = up;
    }
  }
}
