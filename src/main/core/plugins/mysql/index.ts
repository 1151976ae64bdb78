import { z } from 'zod';
import { strict, text } from '../../config/schema-parts.js';
import {
  baseFields,
  countOf,
  chooseDatabases,
  databaseFields,
  dbTag,
  dbToken,
  instancePassword,
  oneSecret,
  passwordFields,
  writePrivateFile,
} from '../base-schema.js';
import { runPluginCommand } from '../run.js';
import type { PluginContext, SourcePlugin } from '../types.js';

const schema = strict({
  ...baseFields,
  host: text.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  /** The server's Unix socket (`/run/mysqld/mysqld.sock`); used instead of host and port. */
  socket: text.optional(),
  user: text.optional(),
  ...passwordFields,
  ...databaseFields,
}).superRefine(oneSecret);

type Mysql = z.output<typeof schema>;

/** Schemas of the server itself, never dumped by `databases: all`. */
const SYSTEM = new Set(['information_schema', 'performance_schema', 'sys']);

/** An option-file value: quoted, with `\` and `"` escaped. */
const optionValue = (v: string): string => `"${v.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;

/**
 * The client's connection, password included, as a 0600 option file: `--defaults-extra-file` must be the first
 * argument of every client, so nothing about the connection is in argv but this path.
 */
async function optionsFile(c: Mysql, ctx: PluginContext): Promise<string> {
  const password = await instancePassword(c, ctx);
  const lines = ['[client]'];
  if (c.socket) lines.push(`socket=${optionValue(c.socket)}`);
  else {
    if (c.host) lines.push(`host=${optionValue(c.host)}`);
    if (c.port) lines.push(`port=${c.port}`);
  }
  if (c.user) lines.push(`user=${optionValue(c.user)}`);
  if (password !== null) lines.push(`password=${optionValue(password)}`);
  return writePrivateFile(ctx, 'my.cnf', `${lines.join('\n')}\n`);
}

/** Every database but the server's own schemas. */
async function allDatabases(options: string, ctx: PluginContext): Promise<string[]> {
  const out = await runPluginCommand({ command: ['mysql', `--defaults-extra-file=${options}`, '-N', '-B', '-e', 'SHOW DATABASES'] }, ctx.signal);
  return out.split('\n').filter((d) => !SYSTEM.has(d));
}

/**
 * MySQL/MariaDB: one snapshot per database (`mysqldump --single-transaction --routines --events --triggers`, a
 * consistent dump of InnoDB tables without locking them). Restores with `mysql` into a new database.
 */
export const mysqlPlugin: SourcePlugin<Mysql> = {
  kind: 'mysql',
  schema,
  tools: () => ['mysqldump', 'mysql'],
  async health(c, ctx) {
    const options = await optionsFile(c, ctx);
    const version = await runPluginCommand({ command: ['mysql', `--defaults-extra-file=${options}`, '-N', '-B', '-e', 'SELECT VERSION()'] }, ctx.signal);
    const dbs = await chooseDatabases(c, () => allDatabases(options, ctx));
    return `${/mariadb/i.test(version) ? 'MariaDB' : 'MySQL'} ${version.trim().split('-')[0]}, ${countOf(dbs.length, 'database')} to back up`;
  },
  async streams(c, ctx) {
    const options = await optionsFile(c, ctx);
    return (await chooseDatabases(c, () => allDatabases(options, ctx))).map((db) => ({
      command: ['mysqldump', `--defaults-extra-file=${options}`, '--single-transaction', '--routines', '--events', '--triggers', '--hex-blob', db],
      filename: `mysql/${dbToken(db)}.sql`,
      tags: [dbTag(db)],
    }));
  },
  async restore(c, ctx, target) {
    if (target.kind !== 'database') throw new Error(`a mysql source restores into a database (--to-database) or a file (--to), not a ${target.kind}`);
    if (!/^[A-Za-z0-9_$]+$/.test(target.name)) throw new Error(`--to-database: "${target.name}" — use letters, digits, "_" and "$" for a new database's name`);
    const options = await optionsFile(c, ctx);
    return [
      // A new database: a restore never overwrites one that exists (CREATE DATABASE fails if it does).
      { command: ['mysql', `--defaults-extra-file=${options}`, '-e', `CREATE DATABASE \`${target.name}\``] },
      { command: ['mysql', `--defaults-extra-file=${options}`, target.name] },
    ];
  },
};
