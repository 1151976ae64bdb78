/** Building blocks of the config schema, shared by `schema.ts` and the plugins' own schemas. */
import { z } from 'zod';
import { parseDuration, type Parsed } from './units.js';

/** Prefix of the unknown-key message produced by `strict()`. */
export const KNOWN_KEYS = 'known keys: ';

/**
 * A strict object. Its unknown-key issue carries the known keys (`known keys: a, b`); `load.ts` turns it
 * into one message per unknown key with a "did you mean" hint.
 */
export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `${KNOWN_KEYS}${known}` : undefined),
  });
}

export const text = z.string().trim().min(1, 'must not be empty');

/** A name usable inside SecretStore account names (`repo:<name>:password`): no colons or spaces. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const name = (what: string) => z.string().regex(NAME, `a ${what} name may contain only letters, digits, ".", "_" and "-"`);

export const tags = z.array(z.string().regex(/^[^,\s]+$/, 'a tag may not contain commas or spaces'));

/** A value parsed by one of `units.ts`' parsers; they name the accepted forms better than a union's "Invalid input". */
export function unit(parse: (v: unknown) => Parsed<number>) {
  return z.unknown().transform((v, ctx) => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.issues.push({ code: 'custom', message: r.message, input: v });
    return z.NEVER;
  });
}

export const duration = unit(parseDuration);

/** A hook: a shell command line (`"zfs snapshot tank/data@backup"`), or argv without a shell (`[lvcreate, -s, …]`). */
const hookCommand = z.union([text, z.array(text).min(1, 'give the command and its arguments')], {
  error: 'expected a command line ("zfs snapshot tank@b") or a list ([lvcreate, -s, …])',
});

/**
 * `hooks:` of a source, a plugin instance or the whole file: `before` a backup (its failure skips the backup),
 * `after` it whatever happened once `before` succeeded (thaw what `before` froze), and `on_failure`.
 */
export const hooks = strict({
  before: hookCommand.optional(),
  after: hookCommand.optional(),
  on_failure: hookCommand.optional(),
  /** How long each hook may take (default 15m). */
  timeout: duration.optional(),
});

export type RawHooks = z.output<typeof hooks>;
