import { afterEach, describe, expect, it, vi } from 'vitest';
import { RendererBridge, type EventSource } from '../../src/main/ipc/renderer-bridge.js';
import type { AgentEvents } from '../../src/shared/agent-api.js';
import type { LogEntry } from '../../src/shared/model/log.js';
import type { RunRecord } from '../../src/shared/model/run.js';
import { FakeWebContents } from './fake-electron.js';
import { idleStatus, runRecord, running } from './status-fixtures.js';

class FakeCore implements EventSource {
  readonly listeners = new Map<string, Set<(p: never) => void>>();
  on<K extends keyof AgentEvents>(event: K, listener: (payload: AgentEvents[K]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (p: never) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (p: never) => void);
  }
  emit<K extends keyof AgentEvents>(event: K, payload: AgentEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (p: AgentEvents[K]) => void)(payload);
  }
  get count(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0);
  }
}

const log = (seq: number): LogEntry => ({ seq, time: '2026-01-01T00:00:00Z', level: 'info', message: `line ${seq}` });

afterEach(() => {
  vi.useRealTimers();
});

describe('RendererBridge', () => {
  it('queues events until the window is ready, then sends them coalesced', () => {
    vi.useFakeTimers();
    const core = new FakeCore();
    const bridge = new RendererBridge(core, { batchMs: 50 });
    const wc = new FakeWebContents(1);
    bridge.attach(wc);
    core.emit('status', idleStatus({ state: 'running' }));
    core.emit('status', idleStatus({ state: 'idle' }));
    core.emit('logs', [log(1), log(2)]);
    core.emit('run-progress', running('a', 10));
    core.emit('run-progress', running('a', 20));
    core.emit('run-finished', runRecord({ id: 'a' }));
    core.emit('run-finished', runRecord({ id: 'b' }));
    vi.advanceTimersByTime(1000);
    expect(wc.sent).toEqual([]);
    bridge.markReady(2); // someone else's ready does not count
    expect(wc.sent).toEqual([]);
    bridge.markReady(1);
    expect(wc.sent.map((s) => s.channel)).toEqual(['agent:status-changed', 'agent:run-progress', 'agent:run-finished', 'agent:run-finished', 'logs:appended']);
    expect((wc.sent[0]?.payload as { state: string }).state).toBe('idle');
    expect((wc.sent[1]?.payload as { progress: { percent: number } }).progress.percent).toBe(20);
    expect(wc.sent.slice(2, 4).map((s) => (s.payload as RunRecord).id)).toEqual(['a', 'b']); // every finished run, in order
    expect((wc.sent[4]?.payload as LogEntry[]).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('batches a burst of log lines into one send per interval', () => {
    vi.useFakeTimers();
    const core = new FakeCore();
    const bridge = new RendererBridge(core, { batchMs: 50 });
    const wc = new FakeWebContents(1);
    bridge.attach(wc);
    bridge.markReady(1);
    for (let i = 1; i <= 1000; i++) core.emit('logs', [log(i)]);
    expect(wc.sent).toHaveLength(0);
    expect(bridge.hasTimer).toBe(true);
    vi.advanceTimersByTime(50);
    expect(wc.sent).toHaveLength(1);
    expect((wc.sent[0]?.payload as LogEntry[]).length).toBe(1000);
    expect(bridge.hasTimer).toBe(false);
  });

  it('caps the queue while not ready (oldest dropped)', () => {
    const core = new FakeCore();
    const bridge = new RendererBridge(core, { maxQueuedLogs: 3 });
    const wc = new FakeWebContents(1);
    bridge.attach(wc);
    core.emit('logs', [log(1), log(2), log(3), log(4), log(5)]);
    bridge.markReady(1);
    expect((wc.sent[0]?.payload as LogEntry[]).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('with no window: not subscribed to the core and no timers', () => {
    vi.useFakeTimers();
    const core = new FakeCore();
    const bridge = new RendererBridge(core);
    expect(core.count).toBe(0);
    const wc = new FakeWebContents(1);
    bridge.attach(wc);
    bridge.markReady(1);
    expect(core.count).toBe(4);
    core.emit('logs', [log(1)]);
    expect(vi.getTimerCount()).toBe(1);
    bridge.detach();
    expect(core.count).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    core.emit('logs', [log(2)]);
    expect(vi.getTimerCount()).toBe(0);
    expect(bridge.attached).toBe(false);
  });

  it('a destroyed window detaches on the next flush instead of throwing', () => {
    const core = new FakeCore();
    const bridge = new RendererBridge(core);
    const wc = new FakeWebContents(1);
    bridge.attach(wc);
    core.emit('logs', [log(1)]);
    wc.destroyed = true;
    bridge.markReady(1);
    expect(wc.sent).toEqual([]);
    expect(core.count).toBe(0);
  });
});
