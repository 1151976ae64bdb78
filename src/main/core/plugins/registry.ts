import { z } from 'zod';
import { strict } from '../config/schema-parts.js';
import { commandPlugin } from './command/index.js';
import { dockerPlugin } from './docker/index.js';
import { mongodbPlugin } from './mongodb/index.js';
import { mysqlPlugin } from './mysql/index.js';
import { postgresPlugin } from './postgres/index.js';
import type { PluginInstanceBase, SourcePlugin } from './types.js';

/** Every source plugin, by the key it has under `plugins:` in the config. The one place plugins are registered. */
export const SOURCE_PLUGINS = {
  command: commandPlugin,
  postgres: postgresPlugin,
  mysql: mysqlPlugin,
  mongodb: mongodbPlugin,
  docker: dockerPlugin,
} as const;

export type PluginKind = keyof typeof SOURCE_PLUGINS;

/**
 * `plugins.<kind>`: one instance (`{ enabled: true, … }`) or a list of named instances. Not a `z.union`: a union
 * reports "invalid input" for a bad instance, this passes on the instance's own errors (key path and fix).
 */
function instances<C extends PluginInstanceBase>(schema: z.ZodType<C>) {
  const list = z.array(schema);
  return z.unknown().transform((value, ctx): C | C[] => {
    // reportInput: each issue keeps its own bad value, so the message can say what was written there.
    const r = Array.isArray(value) ? list.safeParse(value, { reportInput: true }) : schema.safeParse(value, { reportInput: true });
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.issues.push({ input: undefined, ...issue } as never);
    return z.NEVER;
  });
}

export const pluginsSchema = strict({
  command: instances(commandPlugin.schema).optional(),
  postgres: instances(postgresPlugin.schema).optional(),
  mysql: instances(mysqlPlugin.schema).optional(),
  mongodb: instances(mongodbPlugin.schema).optional(),
  docker: instances(dockerPlugin.schema).optional(),
});

/** The plugin of `kind` (a config key that passed the schema). */
export function sourcePlugin(kind: string): SourcePlugin {
  return SOURCE_PLUGINS[kind as PluginKind] as unknown as SourcePlugin;
}
