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
