import type { AgentEvents } from '../../../shared/agent-api.js';
import type { LogEntry } from '../../../shared/model/log.js';
import { TypedEmitter } from '../scheduler/events.js';

/**
 * The agent's outgoing events, coalesced: status and log bursts are delivered once per tick.
 *
 * Timers exist only while something is pending, so an idle agent schedules nothing.
 */
export class EventHub {
  readonly #emitter = new TypedEmitter<AgentEvents>();
  #statusPending = false;
  #logBatch: LogEntry[] = [];
  #logTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(private readonly buildStatus: () => AgentEvents['status']) {}

  on<K extends keyof AgentEvents>(event: K, listener: (payload: AgentEvents[K]) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Something changed: one status snapshot goes out on the next tick, however many changes came. */
  statusChanged(): void {
    if (this.#statusPending || this.#closed) return;
    this.#statusPending = true;
    setImmediate(() => {
      this.#statusPending = false;
      if (this.#closed) return;
      this.#emitter.emit('status', this.buildStatus());
    });
  }

  runProgress(info: AgentEvents['run-progress']): void {
    this.#emitter.emit('run-progress', info);
  }

  runFinished(record: AgentEvents['run-finished']): void {
    this.#emitter.emit('run-finished', record);
  }

  alert(alert: AgentEvents['alert']): void {
    this.#emitter.emit('alert', alert);
  }

  /** Log lines go out in batches of up to 100 ms, so 1,000 lines/s cost ten deliveries. */
  log(entry: LogEntry): void {
    this.#logBatch.push(entry);
    this.#logTimer ??= setTimeout(() => this.flushLogs(), 100);
  }

  /** Delivers what is pending and stops emitting (the agent is stopping). */
  close(): void {
    this.flushLogs();
    this.#closed = true;
  }

  flushLogs(): void {
    if (this.#logTimer) clearTimeout(this.#logTimer);
    this.#logTimer = null;
    if (this.#logBatch.length === 0) return;
    const batch = this.#logBatch;
    this.#logBatch = [];
    this.#emitter.emit('logs', batch);
  }
}
