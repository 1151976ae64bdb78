import { z } from 'zod';
import { strict } from '../config/schema-parts.js';
import { commandPlugin } from './command/index.js';
import { postgresPlugin } from './postgres/index.js';
import type { PluginInstanceBase, SourcePlugin } from './types.js';

/** Every source plugin, by the key it has under `plugins:` in the config. The one place plugins are registered. */
export const SOURCE_PLUGINS = {
  command: commandPlugin,
  postgres: postgresPlugin,
} as const;

export type PluginKind = keyof typeof SOURCE_PLUGINS;

/** `plugins.<kind>`: one instance (`{ enabled: true, … }`) or a list of named instances. */
function instances<C extends PluginInstanceBase>(schema: z.ZodType<C>) {
  return z.union([schema, z.array(schema)]);
}

export const pluginsSchema = strict({
  command: instances(commandPlugin.schema).optional(),
  postgres: instances(postgresPlugin.schema).optional(),
});

/** The plugin of `kind` (a config key that passed the schema). */
export function sourcePlugin(kind: string): SourcePlugin {
  return SOURCE_PLUGINS[kind as PluginKind] as unknown as SourcePlugin;
}
