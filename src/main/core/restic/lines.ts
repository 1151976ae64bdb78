import { StringDecoder } from 'node:string_decoder';

/** Leading carriage returns and ANSI CSI sequences restic prints in front of lines (e.g. `\x1b[2K`). */
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const NOISE = /^(?:\r|\x1b\[[0-9;?]*[A-Za-z])+/;
/** ANSI CSI sequences anywhere in a text line. */
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** One classified output line. */
export type Line = { readonly kind: 'json'; readonly obj: unknown; readonly raw: string } | { readonly kind: 'text'; readonly text: string };

/** Strips `\r`, ANSI sequences and trailing white space from a raw line. */
export function cleanLine(raw: string): string {
  return raw.replace(NOISE, '').replace(ANSI, '').replace(/\r/g, '').trimEnd();
}

/** Classifies a line as JSON (only when it starts with `{` or `[` and parses) or text. */
export function classifyLine(raw: string): Line {
  const s = cleanLine(raw);
  if (s.startsWith('{') || s.startsWith('[')) {
    try {
      return { kind: 'json', obj: JSON.parse(s) as unknown, raw: s };
    } catch {
      /* not JSON after all: text */
    }
  }
  return { kind: 'text', text: s };
}

/**
 * Turns a byte stream into lines: decodes UTF-8 across chunk borders and splits on `\n`.
 *
 * A line longer than `maxLine` characters is cut (the rest up to the next newline is dropped and
 * `onOverflow` is told), so one runaway line cannot grow memory without bound.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #buf = '';
  #dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 16 * 1024 * 1024,
    private readonly onOverflow: (kept: string) => void = () => {},
  ) {}

  /** Feeds one chunk (Buffer or already-decoded string). */
  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.#dropping) {
        this.#dropping = false;
        continue;
      }
      const line = this.#buf + piece;
      this.#buf = '';
      this.onLine(line);
    }
    if (this.#dropping) return;
    this.#buf += text.slice(start);
    if (this.#buf.length > this.maxLine) {
      this.onOverflow(this.#buf.slice(0, 200));
      this.#buf = '';
      this.#dropping = true;
    }
  }

  /** Flushes a final unterminated line (e.g. when restic was killed mid-line). */
  end(): void {
    const rest = this.#buf + this.#decoder.end();
    this.#buf = '';
    if (rest.length > 0 && !this.#dropping) this.onLine(rest);
    this.#dropping = false;
  }
}

/**
 * Keeps the first `headLines` and the last `tailLines` lines of a stream (each cut to `maxLineChars`),
 * counting what was skipped in between. Used for stderr, which can be huge (panics, per-file errors).
 */
export class HeadTail {
  readonly #head: string[] = [];
  readonly #tail: string[] = [];
  #skipped = 0;

  constructor(
    private readonly headLines = 20,
    private readonly tailLines = 60,
    private readonly maxLineChars = 2000,
  ) {}

  push(line: string): void {
    const l = line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars)}…` : line;
    if (this.#head.length < this.headLines) {
      this.#head.push(l);
      return;
    }
    this.#tail.push(l);
    if (this.#tail.length > this.tailLines) {
      this.#tail.shift();
      this.#skipped++;
    }
  }

  /** All kept lines, with a marker where lines were skipped. */
  text(): string {
    const mid = this.#skipped > 0 ? [`… ${this.#skipped} lines skipped …`] : [];
    return [...this.#head, ...mid, ...this.#tail].join('\n');
  }

  /** The last kept lines only (for short messages). */
  last(n: number): string[] {
    const all = [...this.#head, ...this.#tail];
    return all.slice(-n);
  }
}

/**
 * The line of a failed program's output that says why: the last one naming an error (pg_dump ends with
 * "detail: Command was: COPY …", after "detail: Error message from server: …"), else the last line.
 */
export function sayingWhy(lines: readonly string[]): string {
  const said = lines.map((l) => l.trim()).filter(Boolean);
  return (said.findLast((l) => /error|fatal|failed|denied/i.test(l)) ?? said.at(-1) ?? '').slice(0, 300);
}
