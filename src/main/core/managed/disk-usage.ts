import { statfs } from 'node:fs/promises';

/** Free and total bytes of the file system holding one path. */
export interface DiskUsage {
  readonly path: string;
  /** Available to this (unprivileged) user: `bavail`, not `bfree`. */
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/**
 * The file systems holding `paths`, for both dialects' heartbeats: integers, duplicates once, at most 100;
 * a path that is gone or unreadable is skipped (not a heartbeat error).
 */
export async function diskUsage(paths: ReadonlyArray<string>): Promise<DiskUsage[]> {
  const out: DiskUsage[] = [];
  for (const path of [...new Set(paths)].slice(0, 100)) {
    try {
      const s = await statfs(path);
      const totalBytes = Math.floor(s.blocks * s.bsize);
      if (totalBytes > 0) out.push({ path, freeBytes: Math.max(0, Math.floor(s.bavail * s.bsize)), totalBytes });
    } catch {
      /* skipped */
    }
  }
  return out;
}
