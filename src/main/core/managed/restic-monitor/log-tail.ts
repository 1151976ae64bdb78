/** The server stores the `log` string in chunks of at most 1 MiB; one result's log stays under one chunk. */
export const RM_LOG_LIMIT_BYTES = 1024 * 1024 - 4096;

/**
 * Keeps the newest lines of a task's output within a byte budget (UTF-8), so the result sent to the server
 * holds the END of the log — where restic prints its summary and errors — plus a marker saying what was cut.
 */
export class LogTail {
  readonly #lines: string[] = [];
  #bytes = 0;
  #droppedLines = 0;
  #droppedBytes = 0;

  constructor(private readonly limitBytes = RM_LOG_LIMIT_BYTES) {}

  /** Appends one line (without its newline). */
  push(line: string): void {
    let text = line;
    let size = Buffer.byteLength(text, 'utf8') + 1;
    const budget = this.limitBytes - 200; // room for the marker line
    if (size > budget) {
      const cut = tailBytes(text, budget - 1);
      this.#droppedBytes += size - 1 - Buffer.byteLength(cut, 'utf8');
      text = cut;
      size = Buffer.byteLength(text, 'utf8') + 1;
    }
    this.#lines.push(text);
    this.#bytes += size;
    while (this.#bytes > budget && this.#lines.length > 1) {
      const first = this.#lines.shift() ?? '';
      const b = Buffer.byteLength(first, 'utf8') + 1;
      this.#bytes -= b;
      this.#droppedLines += 1;
      this.#droppedBytes += b;
    }
  }

  /** The log text: a truncation marker when something was dropped, then the kept lines. */
  text(): string {
    const body = this.#lines.join('\n');
    if (this.#droppedBytes === 0) return body;
    const marker = `[restic-agent: ${this.#droppedLines} earlier line(s), ${this.#droppedBytes} bytes, truncated to keep the log under the server's 1 MiB chunk]`;
    return body ? `${marker}\n${body}` : marker;
  }
}

/** Bounds an already-built log to `limitBytes`, keeping its tail (whole lines where possible). */
export function truncateLogTail(log: string, limitBytes = RM_LOG_LIMIT_BYTES): string {
  if (Buffer.byteLength(log, 'utf8') <= limitBytes) return log;
  const tail = new LogTail(limitBytes);
  for (const line of log.split('\n')) tail.push(line);
  return tail.text();
}

/** The last ≤ `max` bytes of `s`, never splitting a UTF-8 character. */
function tailBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  let start = buf.length - max;
  // Skip continuation bytes (10xxxxxx) so the slice starts on a character boundary.
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start += 1;
  return buf.subarray(start).toString('utf8');
}
