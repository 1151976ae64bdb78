import type { AgentEvents } from '../../shared/agent-api.js';
import { EVENT_CHANNELS } from '../../shared/ipc/channels.js';
import type { LogEntry } from '../../shared/model/log.js';
import type { RunRecord } from '../../shared/model/run.js';
import type { AgentStatus, RunningInfo } from '../../shared/model/status.js';

/** Where events come from: the agent core's `on()`. */
export interface EventSource {
  on<K extends keyof AgentEvents>(event: K, listener: (payload: AgentEvents[K]) => void): () => void;
}

/** Where events go: a window's `webContents` (only `send` and `isDestroyed` are used). */
export interface EventTarget {
  readonly id: number;
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
}

/** Timer functions, injectable so tests can run without real time. */
export interface BridgeTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RendererBridgeOptions {
  /** How long events are collected before one send (keeps IPC traffic flat at 1,000 log lines/s). */
  readonly batchMs?: number;
  /** Log lines kept while the window is not ready; the oldest are dropped first. */
  readonly maxQueuedLogs?: number;
  readonly timers?: BridgeTimers;
}

/**
 * Forwards core events to the one window, batched, and queued until the window says it is ready.
 *
 * Status and progress are coalesced (only the newest matters; progress per run); finished runs and log lines
 * are all delivered, in order.
 * With no window attached it does not subscribe to the core at all and holds no timer, so a closed window
 * costs nothing.
 */
export class RendererBridge {
  readonly #source: EventSource;
  readonly #batchMs: number;
  readonly #maxLogs: number;
  readonly #timers: BridgeTimers;
  #target: EventTarget | null = null;
  #ready = false;
  #unsubscribe: Array<() => void> = [];
  #timer: unknown = null;
  #status: AgentStatus | null = null;
  #progress = new Map<string, RunningInfo>();
  #finished: RunRecord[] = [];
  #logs: LogEntry[] = [];

  constructor(source: EventSource, options: RendererBridgeOptions = {}) {
    this.#source = source;
    this.#batchMs = options.batchMs ?? 50;
    this.#maxLogs = options.maxQueuedLogs ?? 10_000;
    this.#timers = options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  /** Starts forwarding to `target` (queued until `markReady`). Replaces any previous target. */
  attach(target: EventTarget): void {
    this.detach();
    this.#target = target;
    this.#unsubscribe = [
      this.#source.on('status', (s) => this.#push(() => (this.#status = s))),
      this.#source.on('run-progress', (p) => this.#push(() => this.#progress.set(p.runId, p))),
      this.#source.on('run-finished', (r) => this.#push(() => this.#finished.push(r))),
      this.#source.on('logs', (entries) => this.#push(() => this.#appendLogs(entries))),
    ];
  }

  /** The renderer of `senderId` has subscribed: flush what was queued. */
  markReady(senderId: number): void {
    if (!this.#target || this.#target.id !== senderId) return;
    this.#ready = true;
    this.flush();
  }

  /** Stops forwarding, drops the queue and clears the timer (window closed or destroyed). */
  detach(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#clearTimer();
    this.#target = null;
    this.#ready = false;
    this.#status = null;
    this.#progress.clear();
    this.#finished = [];
    this.#logs = [];
  }

  /** Sends everything pending now (when the window is ready). */
  flush(): void {
    this.#clearTimer();
    const target = this.#target;
    if (!target || !this.#ready) return;
    if (target.isDestroyed()) return this.detach();
    if (this.#status) target.send(EVENT_CHANNELS.status, this.#status);
    for (const p of this.#progress.values()) target.send(EVENT_CHANNELS['run-progress'], p);
    for (const r of this.#finished) target.send(EVENT_CHANNELS['run-finished'], r);
    if (this.#logs.length > 0) target.send(EVENT_CHANNELS.logs, this.#logs);
    this.#status = null;
    this.#progress.clear();
    this.#finished = [];
    this.#logs = [];
  }

  /** True while a flush timer is pending (tests assert there is none with no window). */
  get hasTimer(): boolean {
    return this.#timer !== null;
  }

  /** True while subscribed to the core. */
  get attached(): boolean {
    return this.#target !== null;
  }

  #push(store: () => void): void {
    store();
    if (this.#ready && this.#timer === null) {
      this.#timer = this.#timers.setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, this.#batchMs);
    }
  }

  #appendLogs(entries: ReadonlyArray<LogEntry>): void {
    for (const e of entries) this.#logs.push(e);
    if (this.#logs.length > this.#maxLogs) this.#logs.splice(0, this.#logs.length - this.#maxLogs);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
