/**
 * Removes secrets from text before it is logged, stored or sent.
 *
 * Covers credentials in URLs (`rest:https://user:pass@host`), `KEY=value` and `"key": "value"` pairs whose
 * name looks secret, Authorization headers, and any exact secret value registered at run time (passwords
 * and tokens the agent knows about).
 */
const MASK = '***';
// A key name, not part of a path or file name (`/x/secret.txt: permission denied` is not a secret).
const SECRET_NAME = String.raw`(?<![\w./\\-])[A-Za-z0-9_-]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|ACCOUNT_KEY|PRIVATE_KEY|CREDENTIALS?|AUTH)[A-Za-z0-9_-]*`;
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // scheme://user:password@host → scheme://user:***@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${MASK}@`],
  // Authorization: Bearer xyz / Basic xyz
  [/(authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token)\s+)[^\s"',]+/gi, `$1${MASK}`],
  [/(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${MASK}`],
  // NAME=value / NAME: value / "name": "value" where NAME looks secret
  [new RegExp(String.raw`(${SECRET_NAME}["']?\s*[=:]\s*["']?)(?!(?:bearer|basic|token)\s|\*\*\*)([^\s"',}]+)`, 'gi'), `$1${MASK}`],
];

const known = new Set<string>();

/** Registers a secret value (≥ 4 characters) so every later `redact` call masks it wherever it appears. */
export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= 4) known.add(value);
}

/** Forgets a value registered with `registerSecret` (e.g. a rotated token). */
export function unregisterSecret(value: string): void {
  known.delete(value);
}

/** Returns `text` with every secret-looking part replaced by `***`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(MASK);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
