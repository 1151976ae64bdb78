import { redact } from '../../log/redact.js';
import type { LogEntryWire, LogStream, Outbox } from './outbox.js';
import type { LogLine } from './types.js';

/** Lines kept in memory while admission is throttled, sent after the gap marker. */
export const RING_LINES = 1000;
/** Ring lines still admitted when an attempt ends while the spool is over budget. */
export const FINAL_TAIL_LINES = 100;

interface StreamBuffer {
  readonly stream: LogStream;
  pending: Array<Omit<LogEntryWire, 'seq'>>;
  dropped: number;
  ring: Array<Omit<LogEntryWire, 'seq'>>;
}

/**
 * Admits log lines to the outbox in batched transactions (about every 250 ms), redacting first. Over the spool
 * budget, info/debug lines are counted and kept in a bounded ring instead of admitted; errors and warnings
 * always go in. When pressure ends, one gap marker and the ring are admitted: no silent loss (spec §5.6).
 */
export class LogSpool {
  readonly #streams = new Map<string, StreamBuffer>();
  readonly #t0 = performance.now();

  constructor(
    private readonly outbox: Outbox,
    private readonly budgetBytes: () => number,
  ) {}

  /** Queues one line for admission; call `flush()` (periodically) to commit. */
  add(streamId: string, stream: LogStream, line: LogLine): void {
    let buf = this.#streams.get(streamId);
    if (!buf) {
      buf = { stream, pending: [], dropped: 0, ring: [] };
      this.#streams.set(streamId, buf);
    }
    buf.pending.push({
      ts: new Date().toISOString(),
      mono_ms: Math.round(performance.now() - this.#t0),
      src: line.src,
      level: line.level,
      msg: redact(line.msg),
      ...(line.data ? { data: redactData(line.data) } : {}),
    });
  }

  /**
   * Commits queued lines of one stream (or all) and returns the stream's last admitted seq. `final` (the attempt
   * is over): lines still held back are settled now — a gap marker counts the lost ones and the newest ring lines
   * follow it (only the last `FINAL_TAIL_LINES` while still over budget) — so nothing is lost silently.
   */
  flush(onlyStream?: string, opts: { final?: boolean } = {}): number {
    let last = 0;
    for (const [id, buf] of this.#streams) {
      if (onlyStream && id !== onlyStream) continue;
      last = this.#flushStream(id, buf, opts.final ?? false);
      if (buf.pending.length === 0 && buf.dropped === 0) this.#streams.delete(id);
    }
    return onlyStream ? last || this.outbox.lastLogSeq(onlyStream) : last;
  }

  /** Lines counted but not admitted so far, per stream (for tests and status). */
  dropped(streamId: string): number {
    return this.#streams.get(streamId)?.dropped ?? 0;
  }

  #flushStream(id: string, buf: StreamBuffer, final: boolean): number {
    const admit: Array<Omit<LogEntryWire, 'seq'>> = [];
    const over = () => this.outbox.logBytes + estimate(admit) > this.budgetBytes();
    if (buf.dropped > 0 && !over()) this.#release(buf, admit, buf.ring.length);
    for (const e of buf.pending) {
      if ((e.level === 'info' || e.level === 'debug') && (buf.dropped > 0 || over())) {
        buf.dropped += 1;
        buf.ring.push(e);
        if (buf.ring.length > RING_LINES) buf.ring.shift();
        continue;
      }
      admit.push(e);
    }
    buf.pending = [];
    if (final && buf.dropped > 0) this.#release(buf, admit, over() ? FINAL_TAIL_LINES : buf.ring.length);
    return this.outbox.appendLogs(id, buf.stream, admit);
  }

  /** Pressure is over (or the stream ends): one gap marker for the lost lines, then the newest `keep` ring lines. */
  #release(buf: StreamBuffer, admit: Array<Omit<LogEntryWire, 'seq'>>, keep: number): void {
    const tail = buf.ring.slice(buf.ring.length - Math.min(keep, buf.ring.length));
    // `dropped` counts every line held back; the tail follows the marker, the rest are gone.
    const lost = buf.dropped - tail.length;
    if (lost > 0) {
      admit.push({
        ts: new Date().toISOString(),
        mono_ms: Math.round(performance.now() - this.#t0),
        src: 'agent',
        level: 'warn',
        msg: `[${lost} lines dropped: spool budget; the last ${tail.length} follow]`,
        gap: { dropped: lost },
      });
    }
    admit.push(...tail);
    buf.dropped = 0;
    buf.ring = [];
  }
}

function estimate(entries: ReadonlyArray<Omit<LogEntryWire, 'seq'>>): number {
  let n = 0;
  for (const e of entries) n += e.msg.length + 120;
  return n;
}

function redactData(data: Readonly<Record<string, string | number | boolean | null>>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(data)) out[k] = typeof v === 'string' ? redact(v) : v;
  return out;
}
