import { z } from 'zod';
import { strict, text } from '../../config/schema-parts.js';
import {
  baseFields,
  chooseDatabases,
  countOf,
  databaseFields,
  dbTag,
  dbToken,
  instancePassword,
  oneSecret,
  passwordFields,
  writePrivateFile,
} from '../base-schema.js';
import { runPluginCommand } from '../run.js';
import type { PluginCommand, PluginContext, PluginStream, SourcePlugin } from '../types.js';

const schema = strict({
  ...baseFields,
  /** A host name, or the socket directory (`/run/postgresql`). */
  host: text.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: text.optional(),
  ...passwordFields,
  ...databaseFields,
  /** Roles and tablespaces (`pg_dumpall --globals-only`), as one more snapshot; default true. */
  globals: z.boolean().optional(),
  /** Tool directory when several PostgreSQL versions are installed (`/usr/lib/postgresql/16/bin`). */
  bin_dir: text.optional(),
}).superRefine(oneSecret);

type Postgres = z.output<typeof schema>;

/** The snapshot tag of the globals stream (roles, tablespaces). */
export const GLOBALS_TAG = 'globals';

const tool = (c: Postgres, name: string): string => (c.bin_dir ? `${c.bin_dir.replace(/\/$/, '')}/${name}` : name);

/** Connection flags (never a password: that goes through PGPASSFILE). */
function connection(c: Postgres): string[] {
  return [...(c.host ? ['-h', c.host] : []), ...(c.port ? ['-p', String(c.port)] : []), ...(c.user ? ['-U', c.user] : []), '-w'];
}

/** The clients' environment: a 0600 PGPASSFILE when a password is configured. */
async function clientEnv(c: Postgres, ctx: PluginContext): Promise<Record<string, string>> {
  const password = await instancePassword(c, ctx);
  if (password === null) return {};
  // host:port:database:user:password, `:` and `\` escaped; `*` matches whatever the client connects to.
  const escaped = password.replace(/[\\:]/g, (ch) => `\\${ch}`);
  return { PGPASSFILE: await writePrivateFile(ctx, 'pgpass', `*:*:*:*:${escaped}\n`) };
}

/** Every database that accepts connections, templates excluded. */
async function allDatabases(c: Postgres, env: Record<string, string>, ctx: PluginContext): Promise<string[]> {
  const sql = 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname';
  const out = await runPluginCommand({ command: [tool(c, 'psql'), ...connection(c), '-d', 'postgres', '-XAtq', '-c', sql], env }, ctx.signal);
  return out.split('\n');
}

/**
 * PostgreSQL: one snapshot per database (`pg_dump -Fc`, compressed and restorable table by table) and one of the
 * globals (`pg_dumpall --globals-only`). Restores with `pg_restore` into a new database.
 */
export const postgresPlugin: SourcePlugin<Postgres> = {
  kind: 'postgres',
  schema,
  tools: (c) => [tool(c, 'pg_dump'), tool(c, 'psql'), tool(c, 'pg_restore'), tool(c, 'createdb'), ...(c.globals === false ? [] : [tool(c, 'pg_dumpall')])],
  async health(c, ctx) {
    const env = await clientEnv(c, ctx);
    const version = await runPluginCommand(
      { command: [tool(c, 'psql'), ...connection(c), '-d', 'postgres', '-XAtq', '-c', 'SHOW server_version'], env },
      ctx.signal,
    );
    const dbs = await chooseDatabases(c, () => allDatabases(c, env, ctx));
    return `PostgreSQL ${version.trim().split(' ')[0]}, ${countOf(dbs.length, 'database')} to back up`;
  },
  async streams(c, ctx) {
    const env = await clientEnv(c, ctx);
    const streams: PluginStream[] = (await chooseDatabases(c, () => allDatabases(c, env, ctx))).map((db) => ({
      command: [tool(c, 'pg_dump'), ...connection(c), '-Fc', '-d', db],
      env,
      filename: `postgres/${dbToken(db)}.dump`,
      tags: [dbTag(db)],
    }));
    if (c.globals !== false)
      streams.push({ command: [tool(c, 'pg_dumpall'), ...connection(c), '--globals-only'], env, filename: 'postgres/globals.sql', tags: [GLOBALS_TAG] });
    return streams;
  },
  async restore(c, ctx, target, stream): Promise<PluginCommand[]> {
    if (target.kind !== 'database') throw new Error(`a postgres source restores into a database (--to-database) or a file (--to), not a ${target.kind}`);
    const env = await clientEnv(c, ctx);
    if (stream.tags.includes(GLOBALS_TAG))
      return [{ command: [tool(c, 'psql'), ...connection(c), '-d', 'postgres', '-X', '-v', 'ON_ERROR_STOP=0', '-q'], env }];
    return [
      // A new database: a restore never overwrites one that exists (createdb fails if it does).
      { command: [tool(c, 'createdb'), ...connection(c), target.name], env },
      { command: [tool(c, 'pg_restore'), ...connection(c), '--exit-on-error', '-d', target.name], env },
    ];
  },
};
