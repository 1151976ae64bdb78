import type { SourceConfig } from '../config/types.js';

/**
 * A plugin source's id where a path source has its path (history, status, schedules, `backup --source`):
 * `<kind>:<name>`, e.g. `command:ldap`. It cannot clash with a path, which is always absolute.
 */
export function pluginSourceId(kind: string, name: string): string {
  return `${kind}:${name}`;
}

/** How a source finds its snapshots: a path source by its path, a plugin source by its `source:<name>` tag. */
export function snapshotFilter(source: SourceConfig): { readonly paths?: string[]; readonly tags?: string[] } {
  return source.plugin ? { tags: [`plugin:${source.plugin.kind}`, `source:${source.plugin.name}`] } : { paths: [source.path] };
}

/** True when `snap` is one of `source`'s snapshots (the same rule as `snapshotFilter`). */
export function ownsSnapshot(source: SourceConfig, snap: { readonly paths: ReadonlyArray<string>; readonly tags?: ReadonlyArray<string> | null }): boolean {
  const f = snapshotFilter(source);
  return f.tags ? f.tags.every((t) => snap.tags?.includes(t)) : snap.paths.includes(source.path);
}

/** The source `ref` names: its id (a path, `postgres:shop-db`) or a plugin source's bare name (`shop-db`) when unique. */
export function findSource(sources: ReadonlyArray<SourceConfig>, ref: string): SourceConfig {
  const byId = sources.find((s) => s.path === ref);
  if (byId) return byId;
  const byName = sources.filter((s) => s.plugin?.name === ref);
  if (byName.length === 1 && byName[0]) return byName[0];
  const known = sources.map((s) => s.path).join(', ') || 'none';
  throw new Error(
    byName.length > 1 ? `"${ref}" names ${byName.map((s) => s.path).join(' and ')}: give the full id` : `Unknown source "${ref}" (configured: ${known})`,
  );
}
