import type { LogEntry, LogLevel } from '../../../shared/model/log.js';
import { redact } from './redact.js';

type Fields = Readonly<Record<string, string | number | boolean | null>>;

/** The logging interface every core module receives. */
export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger that tags every entry with `runId`. */
  forRun(runId: string): Logger;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Receives every entry at or above the hub's level, already redacted. */
export type LogSink = (entry: LogEntry) => void;

/**
 * The agent's log: redacts each line once, keeps the newest `capacity` entries in a ring buffer for the
 * UI, and fans out to sinks (console, file, orchestrator log stream).
 */
export class LogHub implements Logger {
  readonly #sinks = new Set<LogSink>();
  readonly #ring: LogEntry[] = [];
  #seq = 0;

  constructor(
    private level: LogLevel = 'info',
    private readonly capacity = 5000,
  ) {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  /** Adds a sink; returns a function that removes it. */
  subscribe(sink: LogSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  /** The newest entries, oldest first, optionally for one run or above a level. */
  recent(query: { limit: number; runId?: string; minLevel?: LogLevel }): LogEntry[] {
    const min = RANK[query.minLevel ?? 'debug'];
    const hits = this.#ring.filter((e) => RANK[e.level] >= min && (!query.runId || e.runId === query.runId));
    return hits.slice(-query.limit);
  }

  write(level: LogLevel, message: string, fields?: Fields, runId?: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const entry: LogEntry = {
      seq: ++this.#seq,
      time: new Date().toISOString(),
      level,
      message: redact(message),
      ...(runId ? { runId } : {}),
      ...(fields ? { fields: redactFields(fields) } : {}),
    };
    this.#ring.push(entry);
    if (this.#ring.length > this.capacity) this.#ring.splice(0, this.#ring.length - this.capacity);
    for (const sink of this.#sinks) sink(entry);
  }

  debug(message: string, fields?: Fields): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: Fields): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: Fields): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: Fields): void {
    this.write('error', message, fields);
  }

  forRun(runId: string): Logger {
    const w = (level: LogLevel) => (message: string, fields?: Fields) => this.write(level, message, fields, runId);
    return { debug: w('debug'), info: w('info'), warn: w('warn'), error: w('error'), forRun: (id) => this.forRun(id) };
  }
}

function redactFields(fields: Fields): Fields {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' ? redact(v) : v;
  return out;
}

/** Formats an entry as one human-readable console line. */
export function formatHuman(e: LogEntry): string {
  const extra = e.fields
    ? ' ' +
      Object.entries(e.fields)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')
    : '';
  return `${e.time} ${e.level.toUpperCase().padEnd(5)} ${e.runId ? `[${e.runId.slice(0, 8)}] ` : ''}${e.message}${extra}`;
}

/** A logger that drops everything (for tests and one-shot helpers). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  forRun: () => silentLogger,
};
