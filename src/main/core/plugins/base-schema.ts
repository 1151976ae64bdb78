import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { hooks, name, tags, text } from '../config/schema-parts.js';
import type { PluginContext } from './types.js';

/** The fields every plugin instance accepts; a plugin's schema is `strict({ ...baseFields, …its own })`. */
export const baseFields = {
  name: name('source').optional(),
  enabled: z.boolean().optional(),
  policy: text.optional(),
  repository: text.optional(),
  tags: tags.optional(),
  hooks: hooks.optional(),
};

/** A database server's password: from a file (`password_file`), or from the SecretStore (`password_keyring`). */
export const passwordFields = {
  password_file: text.optional(),
  password_keyring: z.string().regex(/^\S+$/, 'expected a SecretStore account name without spaces').optional(),
};

/** The schema refinement for `passwordFields`: at most one of them. */
export function oneSecret(c: { password_file?: string; password_keyring?: string }, ctx: z.core.$RefinementCtx): void {
  if (c.password_file !== undefined && c.password_keyring !== undefined) {
    ctx.issues.push({ code: 'custom', message: 'give only one of password_file, password_keyring', input: c, path: ['password_keyring'] });
  }
}

/** The instance's password, or null when it uses none (peer or trust authentication). */
export async function instancePassword(c: { password_file?: string; password_keyring?: string }, ctx: PluginContext): Promise<string | null> {
  if (c.password_file !== undefined) return ctx.secret({ file: c.password_file });
  if (c.password_keyring !== undefined) return ctx.secret({ keyring: c.password_keyring });
  return null;
}

/** `databases: all` (the default) or a list of names, and `exclude_databases`, left out of `all`. */
export const databaseFields = {
  databases: z.union([z.literal('all'), z.array(text).min(1, 'list at least one database, or write databases: all')]).optional(),
  exclude_databases: z.array(text).optional(),
};

/** The databases to dump: the configured list, or every one `listAll` finds, minus `exclude_databases`. */
export async function chooseDatabases(c: { databases?: 'all' | string[]; exclude_databases?: string[] }, listAll: () => Promise<string[]>): Promise<string[]> {
  const excluded = new Set(c.exclude_databases ?? []);
  const chosen = c.databases && c.databases !== 'all' ? c.databases : await listAll();
  return chosen.filter((d) => d && !excluded.has(d));
}

/** A database name as a file name and a tag: percent-encoded, so `/`, `,` and spaces cannot escape either. */
export function dbToken(db: string): string {
  return encodeURIComponent(db);
}

/** The snapshot tag of one database's stream. */
export function dbTag(db: string): string {
  return `db:${dbToken(db)}`;
}

/** The snapshot tag of one Docker volume's stream. */
export function volumeTag(volume: string): string {
  return `volume:${dbToken(volume)}`;
}

/** The tag prefixes that say which item of a source a snapshot holds (`restore --db`/`--volume` picks by them). */
export const ITEM_TAG_PREFIXES = ['db:', 'volume:'] as const;

/** `1 database`, `3 databases`. */
export function countOf(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Writes a credential file only the agent can read (0600, in the run's private directory). */
export async function writePrivateFile(ctx: PluginContext, name: string, content: string): Promise<string> {
  const path = join(ctx.workDir, name);
  await writeFile(path, content, { mode: 0o600, flag: 'wx' });
  return path;
}
