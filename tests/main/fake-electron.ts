import { EventEmitter } from 'node:events';
import { vi } from 'vitest';
import type { IpcMainLike } from '../../src/main/ipc/ipc-main.js';
import type { IpcEventLike } from '../../src/main/ipc/trusted-senders.js';

type Handler = (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>;
type Listener = (event: IpcEventLike, ...args: unknown[]) => void;

/** A fake `ipcMain` that records handlers so tests can invoke them as a renderer would. */
export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Handler>();
  readonly listeners = new Map<string, Set<Listener>>();
  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  on(channel: string, listener: Listener): this {
    const set = this.listeners.get(channel) ?? new Set();
    set.add(listener);
    this.listeners.set(channel, set);
    return this;
  }
  removeListener(channel: string, listener: Listener): this {
    this.listeners.get(channel)?.delete(listener);
    return this;
  }
  /** Calls a handler like `ipcRenderer.invoke` would. */
  async invoke(event: IpcEventLike, channel: string, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    // Electron's structured clone: the envelope must survive it.
    return structuredClone(await h(event, ...args));
  }
  emit(event: IpcEventLike, channel: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(channel) ?? []) l(event, ...args);
  }
}

/** A fake `WebContents` with an id, `destroyed` event, and recorded `send` calls. */
export class FakeWebContents extends EventEmitter {
  readonly sent: Array<{ channel: string; payload: unknown }> = [];
  destroyed = false;
  readonly setWindowOpenHandler = vi.fn();
  constructor(readonly id: number) {
    super();
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload: structuredClone(payload) });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

/** An IPC event as Electron would pass it to a handler. */
export function ipcEvent(sender: { id: number }, url = 'file:///app/dist/renderer/index.html'): IpcEventLike {
  return { sender, senderFrame: { url } };
}
