/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One log line, already redacted by the core. */
export interface LogEntry {
  readonly seq: number;
  readonly time: string;
  readonly level: LogLevel;
  readonly message: string;
  readonly runId?: string;
  readonly fields?: Readonly<Record<string, string | number | boolean | null>>;
}
