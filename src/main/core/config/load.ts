/**
 * Reading and validating the YAML configuration: syntax errors with line:column, schema errors with the key
 * path, the bad value and what is expected, then the cross-section checks of `normalise()`.
 */
import { open } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { configWarnings, crossCheck, normalise, type NormaliseContext } from './normalise.js';
import { configFileSchema, KNOWN_KEYS } from './schema.js';
import { didYouMean } from './suggest.js';
import { thousands } from './units.js';
import type { AgentConfig } from './types.js';

export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';

/** The outcome of `validateConfigText`. */
export type ConfigValidation =
  { readonly ok: true; readonly config: AgentConfig; readonly warnings: string[] } | { readonly ok: false; readonly errors: ConfigIssue[] };

/**
 * Validates configuration text without touching the file system. `sourceName` (a path or `<editor>`) is
 * only used in messages.
 */
export function validateConfigText(text: string, sourceName: string, ctx?: NormaliseContext): ConfigValidation {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    return { ok: false, errors: [{ path: '', message: `${sourceName} is larger than the 1 MiB limit for a configuration file` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      // Only the first: the parser's later errors are mostly the same mistake seen again from another rule.
      errors: doc.errors.slice(0, 1).map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? `${pos.line}:${pos.col}` : '?';
        // prettyErrors appends " at line L, column C:" and a code excerpt; the position is already in front.
        const what = firstLine(e.message).replace(/ at line \d+, column \d+:?$/, '');
        return { path: '', message: `YAML syntax error at ${sourceName}:${where}: ${what}`, ...(pos ? { line: pos.line } : {}) };
      }),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = configFileSchema.safeParse(data, { reportInput: true });
  const lineOf = (path: ReadonlyArray<PropertyKey>): number | undefined => findLine(doc, path, lineCounter);
  if (!parsed.success) return { ok: false, errors: report(parsed.error.issues.flatMap((i) => toIssues(i, lineOf))) };
  const cross = crossCheck(parsed.data);
  if (cross.length) {
    return { ok: false, errors: report(collapseRepeats(cross).map((i) => ({ ...i, ...withLine(lineOf(splitPath(i.path))) }))) };
  }
  const warnings = [...doc.warnings.map((w) => firstLine(w.message)), ...configWarnings(parsed.data)];
  return { ok: true, config: normalise(parsed.data, ctx), warnings };
}

/**
 * Reads, validates and normalises a configuration file. Throws `ConfigError` (with every problem found)
 * for invalid content; file-system errors (ENOENT when there is no file yet) propagate unchanged.
 */
export async function loadConfigFile(path: string, ctx?: NormaliseContext): Promise<{ config: AgentConfig; warnings: string[] }> {
  const text = await readConfigText(path);
  const result = validateConfigText(text, path, ctx);
  if (!result.ok) throw new ConfigError(path, result.errors);
  return { config: result.config, warnings: result.warnings };
}

/** Largest configuration file read: 1 MiB is thousands of sources; more is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

const READ_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory, not a file',
  ELOOP: 'too many symbolic links',
  ENOTDIR: 'a part of the path is not a directory',
  EIO: 'input/output error',
};

/**
 * Reads a configuration file, refusing directories, unreadable files and files over `MAX_CONFIG_BYTES` with a
 * `ConfigError` (exit 78) that names the file, the reason and the user. ENOENT propagates unchanged: a missing
 * file is "not configured yet", which callers handle.
 */
export async function readConfigText(path: string): Promise<string> {
  const fail = (why: string): never => {
    throw new ConfigError(path, [{ path: '', message: `cannot read config file ${path}: ${why}` }]);
  };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT') throw e;
    return fail(`${READ_ERRORS[code] ?? (e as Error).message} (running as ${currentUser()})`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) return fail(READ_ERRORS.EISDIR ?? '');
    if (info.size > MAX_CONFIG_BYTES) return fail(`it is ${(info.size / 1048576).toFixed(1)} MiB; the limit is 1 MiB`);
    const text = await handle.readFile('utf8').catch((e: NodeJS.ErrnoException) => fail(READ_ERRORS[e.code ?? ''] ?? e.message));
    // A FIFO or a file that grew after stat().
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) return fail('it is larger than the 1 MiB limit');
    return text;
  } finally {
    await handle.close();
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

type ZodIssue = z.core.$ZodIssue;
const SECRET_KEY = /password|passwd|secret|token|credential|api_?key/i;

/** One zod issue → messages naming the path, the bad value and what is expected. */
function toIssues(issue: ZodIssue, lineOf: (p: ReadonlyArray<PropertyKey>) => number | undefined): ConfigIssue[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    // One entry per unknown key, located at the key itself.
    const known = issue.message.startsWith(KNOWN_KEYS) ? issue.message.slice(KNOWN_KEYS.length) : '';
    const knownList = known ? known.split(', ') : [];
    return issue.keys.map((key) => ({
      path: formatPath([...path, key]),
      message: `unknown key "${key}"${didYouMean(key, knownList)}${known ? `; known keys here: ${known}` : ''}`,
      ...withLine(lineOf([...path, key])),
    }));
  }
  const last = path[path.length - 1];
  const showValue = !(typeof last === 'string' && SECRET_KEY.test(last));
  const got = 'input' in issue && showValue ? describe(issue.input) : null;
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = issue.input === undefined ? `required (expected ${issue.expected})` : `expected ${article(issue.expected)}${got ? `, got ${got}` : ''}`;
      break;
    case 'invalid_value':
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got ? `, got ${got}` : ''}`;
      break;
    case 'invalid_key':
      message = `invalid name "${String(last)}": ${issue.issues.map((i) => i.message).join('; ')}`;
      break;
    default:
      // Custom messages may already quote the value (`write "30s"`); do not repeat it.
      message = `${issue.message}${got && !issue.message.includes(String(issue.input)) ? ` (got ${got})` : ''}`;
  }
  return [{ path: formatPath(path), message, ...withLine(lineOf(path)) }];
}

function article(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping (key: value lines)',
    array: 'a list',
    string: 'a text value',
    number: 'a number',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

/** A short rendering of a bad value for messages. */
function describe(input: unknown): string | null {
  if (input === undefined) return null;
  if (input === null) return 'an empty value';
  if (typeof input === 'number' && !Number.isFinite(input)) return 'a number too large to represent';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  const s = JSON.stringify(input);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Most problems listed; a file with more gets a last line saying how many were left out. */
const MAX_REPORTED = 50;

/** Problems in file order (those without a line last), so the report reads top to bottom; at most MAX_REPORTED. */
function report(issues: ConfigIssue[]): ConfigIssue[] {
  const sorted = collapseRepeats(issues).sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  if (sorted.length <= MAX_REPORTED) return sorted;
  const rest = sorted.length - MAX_REPORTED + 1;
  return [...sorted.slice(0, MAX_REPORTED - 1), { path: '', message: `… and ${thousands(rest)} more problems (fix the ones above first)` }];
}

/**
 * The same problem in many list entries (`backup.sources[*]`: "no repository to back up to") is reported once,
 * at its first entry, with the count — not once per entry.
 */
export function collapseRepeats(issues: ReadonlyArray<ConfigIssue>): ConfigIssue[] {
  const groups = new Map<string, { first: ConfigIssue; count: number; pattern: string }>();
  for (const issue of issues) {
    const pattern = issue.path.replace(/\[\d+\]/g, '[*]');
    const key = `${pattern}\0${issue.message}`;
    const g = groups.get(key);
    if (g) g.count += 1;
    else groups.set(key, { first: issue, count: 1, pattern });
  }
  return [...groups.values()].map(({ first, count, pattern }) =>
    count === 1 ? first : { ...first, message: `${first.message} (the same in ${thousands(count)} entries of ${pattern})` },
  );
}

function withLine(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** `backup.sources[1].policy` → `['backup', 'sources', 1, 'policy']`. */
function splitPath(path: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? ''));
  return out;
}

/** The line of the deepest node on `path` that exists in the document (the key for mapping entries). */
function findLine(doc: Document, path: ReadonlyArray<PropertyKey>, lc: LineCounter): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}
