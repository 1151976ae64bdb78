import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { RawHooks } from '../config/schema-parts.js';

/** What every plugin instance has, whatever its kind (`plugins.<kind>: [ { name, policy, … } ]`). */
export interface PluginInstanceBase {
  readonly name?: string;
  readonly enabled?: boolean;
  readonly policy?: string;
  readonly repository?: string;
  readonly tags?: ReadonlyArray<string>;
  readonly hooks?: RawHooks;
}

/** A command the agent runs for a plugin: argv (no shell) and its own variables (paths only, never secrets). */
export interface PluginCommand {
  readonly command: ReadonlyArray<string>;
  readonly env?: Readonly<Record<string, string>>;
}

/** What every stream of a plugin source's backup has, whatever restic backs up. */
interface StreamBase {
  /** Extra snapshot tags of this stream (`db:<name>`, `volume:<name>`), besides `plugin:<kind>` and `source:<name>`. */
  readonly tags: ReadonlyArray<string>;
  /**
   * Runs just before this stream's backup and returns what undoes it, run after the backup whatever happened
   * (stop the containers that use a volume, then start them again).
   */
  readonly prepare?: () => Promise<() => Promise<void>>;
}

/** One restic run of a plugin source's backup: a command's output stored as `/<filename>` (one per database). */
export interface CommandStream extends PluginCommand, StreamBase {
  readonly filename: string;
}

/** One restic run of a plugin source's backup over local paths (a Docker volume's mountpoint). */
export interface PathStream extends StreamBase {
  readonly paths: ReadonlyArray<string>;
  /** How history and logs name this stream (`docker/uploads`). */
  readonly label: string;
}

/**
 * One restic run of a plugin source's backup: a stream the agent reads itself (a volume's tar from the Engine API),
 * stored as `/<filename>`. It is complete only when it emits `end`; an `error` stops restic before it saves a snapshot.
 */
export interface ReaderStream extends StreamBase {
  readonly filename: string;
  readonly open: (signal: AbortSignal) => Promise<Readable>;
}

export type PluginStream = CommandStream | PathStream | ReaderStream;

/** How history and logs name a stream. */
export function streamLabel(s: PluginStream): string {
  return 'paths' in s ? s.label : s.filename;
}

/** Where a restore's dump goes when no command reads it: a sink the agent feeds itself (a new volume, through the Engine API). */
export interface DumpSink {
  /** Resolves once all of `dump` is stored; rejects (and the restore fails) when it cannot be. */
  readonly write: (dump: Readable, signal: AbortSignal) => Promise<void>;
}

/** What a plugin may ask of the agent while it prepares a run. */
export interface PluginContext {
  /** A private directory (0700) for this run's credential files; removed when the run ends. */
  readonly workDir: string;
  /** The password of the instance: `password_file`'s content or `password_keyring`'s SecretStore entry (redacted in logs). */
  readonly secret: (ref: SecretRef) => Promise<string>;
  readonly signal: AbortSignal;
  /** This plugin kind's persistent directory (0700): see `SourcePlugin.recover`. */
  readonly stateDir: string;
}

/** Where an instance's password comes from. */
export type SecretRef = { readonly file: string } | { readonly keyring: string };

/** Where a restore writes a plugin source's dump. */
export type RestoreTarget =
  { readonly kind: 'file'; readonly path: string } | { readonly kind: 'database'; readonly name: string } | { readonly kind: 'volume'; readonly name: string };

/**
 * A kind of backup source beyond paths. A plugin only turns its config into commands: the scheduler, the
 * executor, retention, history and the shells treat its sources like any other. Adding one = one folder under
 * `plugins/` and one line in `registry.ts`.
 */
export interface SourcePlugin<C extends PluginInstanceBase = PluginInstanceBase> {
  readonly kind: string;
  /** One instance as written in the config (strict; the base fields included). */
  readonly schema: z.ZodType<C>;
  /** The programs a backup runs, checked at start (`pg_dump`, `mysqldump`); none for an API client. */
  tools(instance: C): ReadonlyArray<string>;
  /** The streams one backup of `instance` makes, in order (may ask the server, e.g. for its databases). */
  streams(instance: C, ctx: PluginContext): Promise<ReadonlyArray<PluginStream>>;
  /**
   * One line on the instance's server for `status` and the heartbeat ("PostgreSQL 15.4, 3 databases"); throws
   * when it cannot be reached. Doubles as the connect preflight.
   */
  health?(instance: C, ctx: PluginContext): Promise<string>;
  /**
   * Called once at start, before any run: undoes what a crashed run left (start the containers it stopped).
   * Returns what it did, for the log. Journals live in `ctx.stateDir`, whatever the config says today.
   */
  recover?(ctx: PluginStateDir): Promise<ReadonlyArray<string>>;
  /**
   * How to restore one stream's snapshot (its tags tell which database) into `target`: commands run in order, the last
   * one reads the dump on stdin (e.g. `createdb NAME`, then `pg_restore -d NAME`), or a sink that takes the dump.
   * A `file` target is the agent's.
   */
  restore?(
    instance: C,
    ctx: PluginContext,
    target: Exclude<RestoreTarget, { kind: 'file' }>,
    snapshot: { readonly tags: ReadonlyArray<string>; readonly paths: ReadonlyArray<string> },
  ): Promise<ReadonlyArray<PluginCommand> | DumpSink>;
}

/** Where a plugin keeps what must outlive a run and a crash (the containers it stopped), under the data dir. */
export interface PluginStateDir {
  readonly stateDir: string;
}

/** A configured plugin source, as `SourceConfig.plugin` carries it. */
export interface PluginSource {
  readonly kind: string;
  readonly name: string;
  /** The instance as validated by the plugin's schema. */
  readonly instance: PluginInstanceBase;
}
