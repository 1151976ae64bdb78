/**
 * Normalisers for the single-document JSON of `snapshots`, `forget` and `stats` (docs/spec/restic-cli.md §4.2,
 * §4.4, §4.6): `null` arrays become `[]`, missing numbers become 0, grouped output is flattened.
 */

/** One snapshot as the agent uses it. */
export interface SnapshotRecord {
  id: string;
  shortId: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
  /** From the snapshot's `summary` (written by restic ≥0.17 only). */
  totalBytesProcessed: number | null;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');

/** Converts one restic Snapshot object. */
export function toSnapshotRecord(o: Obj): SnapshotRecord {
  const id = str(o.id);
  const summary = isObj(o.summary) ? o.summary : null;
  return {
    id,
    shortId: str(o.short_id) || id.slice(0, 8),
    time: str(o.time),
    hostname: str(o.hostname),
    paths: strings(o.paths),
    tags: strings(o.tags),
    totalBytesProcessed: summary && typeof summary.total_bytes_processed === 'number' ? summary.total_bytes_processed : null,
  };
}

/** Parses `snapshots --json` (flat array or `--group-by` groups); anything else gives []. */
export function parseSnapshots(doc: unknown): SnapshotRecord[] {
  if (!Array.isArray(doc)) return [];
  const out: SnapshotRecord[] = [];
  for (const item of doc) {
    if (!isObj(item)) continue;
    if (Array.isArray(item.snapshots)) {
      for (const s of item.snapshots) if (isObj(s)) out.push(toSnapshotRecord(s));
    } else if (typeof item.id === 'string') out.push(toSnapshotRecord(item));
  }
  return out;
}

/** Counts kept and removed snapshots over all `forget --json` groups (empty stdout = nothing matched). */
export function parseForget(doc: unknown): { removed: number; kept: number; removedIds: string[] } {
  let removed = 0;
  let kept = 0;
  const removedIds: string[] = [];
  if (!Array.isArray(doc)) return { removed, kept, removedIds };
  for (const g of doc) {
    if (!isObj(g)) continue;
    if (Array.isArray(g.keep)) kept += g.keep.length;
    if (Array.isArray(g.remove)) {
      removed += g.remove.length;
      for (const s of g.remove) if (isObj(s) && typeof s.id === 'string') removedIds.push(s.id);
    }
  }
  return { removed, kept, removedIds };
}

/** Parses `stats --json`; null when the document is not a stats object. */
export function parseStats(doc: unknown): { totalSize: number; snapshotsCount: number } | null {
  if (!isObj(doc) || typeof doc.total_size !== 'number') return null;
  return { totalSize: doc.total_size, snapshotsCount: typeof doc.snapshots_count === 'number' ? doc.snapshots_count : 0 };
}
