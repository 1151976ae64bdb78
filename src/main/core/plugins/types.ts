import type { z } from 'zod';
import type { StdinSource } from '../restic/args.js';

/** What every plugin instance has, whatever its kind (`plugins.<kind>: [ { name, policy, … } ]`). */
export interface PluginInstanceBase {
  readonly name?: string;
  readonly enabled?: boolean;
  readonly policy?: string;
  readonly repository?: string;
  readonly tags?: ReadonlyArray<string>;
}

/** One restic run of a plugin source's backup: a stream stored as `/<filename>` (one per database, say). */
export interface PluginRun {
  readonly stdin: StdinSource;
  /** Extra snapshot tags of this run (`db:<name>`), besides `plugin:<kind>` and `source:<name>`. */
  readonly tags: ReadonlyArray<string>;
}

/**
 * A kind of backup source beyond paths. A plugin only turns its config into restic runs: the scheduler, the
 * executor, retention, history and the shells treat its sources like any other. Adding one = one folder under
 * `plugins/` and one line in `registry.ts`.
 */
export interface SourcePlugin<C extends PluginInstanceBase = PluginInstanceBase> {
  readonly kind: string;
  /** One instance as written in the config (strict; the base fields included). */
  readonly schema: z.ZodType<C>;
  /** The runs one backup of `instance` makes. */
  runs(instance: C): ReadonlyArray<PluginRun>;
}

/** A configured plugin source, as `SourceConfig.plugin` carries it. */
export interface PluginSource {
  readonly kind: string;
  readonly name: string;
  readonly runs: ReadonlyArray<PluginRun>;
}
