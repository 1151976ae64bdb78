import { z } from 'zod';
import { strict, text } from '../../config/schema-parts.js';
import { baseFields } from '../base-schema.js';
import type { SourcePlugin } from '../types.js';

const schema = strict({
  ...baseFields,
  /** argv, no shell: `[slapcat, -n, "1"]`. */
  command: z.array(text).min(1, 'give the command and its arguments, e.g. [slapcat, -n, "1"]'),
  /** The file name the output is stored under in the snapshot. */
  stdin_filename: z
    .string()
    .regex(/^[^/\\]+$/, 'a file name without slashes, e.g. ldap.ldif')
    .optional(),
});

/** Any command whose stdout is the backup (`slapcat`, `pg_dumpall`, a script): one stream, one snapshot. */
export const commandPlugin: SourcePlugin<z.output<typeof schema>> = {
  kind: 'command',
  schema,
  tools: (c) => [c.command[0] ?? ''],
  streams: async (c) => [{ command: c.command, filename: c.stdin_filename ?? `${c.name ?? 'command'}.out`, tags: [] }],
};
