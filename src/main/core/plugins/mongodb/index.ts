import { z } from 'zod';
import { strict, text } from '../../config/schema-parts.js';
import { baseFields, dbTag, dbToken, instancePassword, oneSecret, passwordFields, writePrivateFile } from '../base-schema.js';
import { runPluginCommand } from '../run.js';
import type { PluginContext, PluginStream, SourcePlugin } from '../types.js';

const schema = strict({
  ...baseFields,
  /** The connection string (`mongodb://backup@db1:27017/?authSource=admin`); its password belongs in password_file. */
  uri: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'a connection string: mongodb://[user@]host[:port][/?options]')
    .refine((u) => !/^mongodb(\+srv)?:\/\/[^/@]*:[^/@]*@/.test(u), 'no password in the uri: give it in password_file or password_keyring')
    .optional(),
  ...passwordFields,
  /** One archive per database; without it, one archive of the whole server. */
  databases: z.array(text).min(1, 'list at least one database, or leave databases out for the whole server').optional(),
  /** Where mongodump and mongorestore are (`/opt/mongodb-database-tools/bin`). */
  bin_dir: text.optional(),
}).superRefine(oneSecret);

type Mongo = z.output<typeof schema>;

/** The snapshot tag of a whole-server archive. */
const SERVER_TAG = 'db:*';

const tool = (c: Mongo, name: string): string => (c.bin_dir ? `${c.bin_dir.replace(/\/$/, '')}/${name}` : name);

/**
 * The tools' `--config` file (0600, in the run's private dir): the connection string and the password, which
 * mongodump and mongorestore read from there, never from argv. JSON strings are valid YAML scalars.
 */
async function configFile(c: Mongo, ctx: PluginContext): Promise<string> {
  const password = await instancePassword(c, ctx);
  const lines = [`uri: ${JSON.stringify(c.uri ?? 'mongodb://localhost:27017')}`, ...(password === null ? [] : [`password: ${JSON.stringify(password)}`])];
  return writePrivateFile(ctx, 'mongo.yaml', `${lines.join('\n')}\n`);
}

/**
 * MongoDB: `mongodump --archive` (one archive per configured database, or one of the whole server) streamed into
 * restic; restores a database's archive under a new name with `mongorestore --nsFrom/--nsTo`.
 */
export const mongodbPlugin: SourcePlugin<Mongo> = {
  kind: 'mongodb',
  schema,
  tools: (c) => [tool(c, 'mongodump'), tool(c, 'mongorestore')],
  // mongodump cannot ping a server without dumping: the health line says the tools are there, the backup says more.
  async health(c, ctx) {
    const version = await runPluginCommand({ command: [tool(c, 'mongodump'), '--version'] }, ctx.signal);
    return `${version.split('\n')[0]?.trim() || 'mongodump'} (the server is reached at the next backup)`;
  },
  async streams(c, ctx) {
    const config = `--config=${await configFile(c, ctx)}`;
    if (!c.databases) return [{ command: [tool(c, 'mongodump'), config, '--archive'], filename: 'mongodb/server.archive', tags: [SERVER_TAG] }];
    return c.databases.map((db): PluginStream => ({
      command: [tool(c, 'mongodump'), config, '--archive', `--db=${db}`],
      filename: `mongodb/${dbToken(db)}.archive`,
      tags: [dbTag(db)],
    }));
  },
  async restore(c, ctx, target, snap) {
    if (target.kind !== 'database') throw new Error(`a mongodb source restores into a database (--to-database) or a file (--to), not a ${target.kind}`);
    const from = snap.tags.find((t) => t.startsWith('db:') && t !== SERVER_TAG);
    if (!from)
      throw new Error(
        'this snapshot holds the whole server: restore it with --to FILE, then mongorestore --archive=FILE (--nsInclude chooses what to restore)',
      );
    const db = decodeURIComponent(from.slice(3));
    // mongorestore adds to what exists (it never drops): a new database name keeps the original untouched.
    return [{ command: [tool(c, 'mongorestore'), `--config=${await configFile(c, ctx)}`, '--archive', `--nsFrom=${db}.*`, `--nsTo=${target.name}.*`] }];
  },
};
