/**
 * Parsing of single-document JSON commands (`snapshots`, `forget`, `stats`, `cat config`, `init --json` …).
 *
 * restic may print text lines in front of the JSON (warnings, the 0.19.0 `stats` progress line) and, for
 * `forget --prune` on ≤0.18, prune's text after it (docs/spec/restic-cli.md §2, §4.4).
 */
export interface SingleDoc {
  /** The parsed document, or null when stdout had none (empty stdout is a valid "no result"). */
  readonly doc: unknown;
  /** Text lines that were not part of the document (to be logged). */
  readonly extra: string[];
}

/** Parses stdout as one JSON document, dropping leading lines until the rest parses (Backrest's approach). */
export function parseSingleDoc(stdout: string): SingleDoc {
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const rest = lines.slice(i).join('\n').trim();
    if (!rest) break;
    if (rest.startsWith('{') || rest.startsWith('[')) {
      try {
        return { doc: JSON.parse(rest) as unknown, extra: nonEmpty(lines.slice(0, i)) };
      } catch {
        /* try without the next line */
      }
    }
  }
  // Fall back to the first line that is JSON on its own (forget --prune on ≤0.18: JSON then text).
  for (let i = 0; i < lines.length; i++) {
    const s = (lines[i] ?? '').trim();
    if (!s.startsWith('{') && !s.startsWith('[')) continue;
    try {
      return { doc: JSON.parse(s) as unknown, extra: nonEmpty([...lines.slice(0, i), ...lines.slice(i + 1)]) };
    } catch {
      /* keep looking */
    }
  }
  return { doc: null, extra: nonEmpty(lines) };
}

function nonEmpty(lines: string[]): string[] {
  return lines.map((l) => l.trimEnd()).filter((l) => l.length > 0);
}
