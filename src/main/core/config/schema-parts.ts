/** Building blocks of the config schema, shared by `schema.ts` and the plugins' own schemas. */
import { z } from 'zod';

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
