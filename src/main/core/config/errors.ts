/** One problem in a configuration file, located by its key path (`backup.sources[1].policy`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** 1-based line in the YAML text, when known. */
  readonly line?: number;
}

/** A configuration that cannot be used, with every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ReadonlyArray<ConfigIssue>,
  ) {
    super(`${source}: ${issues.length} configuration error${issues.length === 1 ? '' : 's'}: ${issues.map(formatIssue).join('; ')}`);
    this.name = 'ConfigError';
  }

  /** A multi-line report for the CLI: one line per problem under a heading naming the file. */
  format(): string {
    const n = this.issues.length;
    const lines = this.issues.map((i) => `  - ${formatIssue(i)}`);
    return [`${this.source}: ${n} problem${n === 1 ? '' : 's'} found`, ...lines].join('\n');
  }
}

/** `path (line 7): message`, or just the message for file-level problems. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path ? `${issue.path}${issue.line ? ` (line ${issue.line})` : ''}: ` : issue.line ? `line ${issue.line}: ` : '';
  return `${where}${issue.message}`;
}

/** Formats a key path the way users write it: `backup.sources[1].policy`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
