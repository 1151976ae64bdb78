import { describe, expect, it } from 'vitest';
import type { RunKind } from '../../../src/shared/model/run.js';
import { QueueCancelledError, RepoQueue } from '../../../src/main/core/scheduler/repo-queue.js';
import { flush } from './harness.js';

/** A queued operation the test finishes by hand. */
function gate() {
  let open: (v: string) => void = () => {};
  let signal: AbortSignal | null = null;
  const started = { value: false };
  const fn = (s: AbortSignal) =>
    new Promise<string>((resolve) => {
      started.value = true;
      signal = s;
      open = resolve;
      s.addEventListener('abort', () => resolve('aborted'));
    });
  return { fn, started, finish: (v = 'done') => open(v), signal: () => signal };
}

describe('RepoQueue', () => {
  it('serialises a check behind a running backup on the same repository while another repository runs', async () => {
    const q = new RepoQueue();
    const backup = gate();
    const check = gate();
    const other = gate();
    const pBackup = q.run('nas', 'backup', backup.fn);
    const pCheck = q.run('nas', 'check', check.fn);
    const pOther = q.run('cloud', 'backup', other.fn);
    await flush();
    expect([backup.started.value, check.started.value, other.started.value]).toEqual([true, false, true]);
    expect(q.running().map((e) => `${e.repository}:${e.kind}`)).toEqual(['nas:backup', 'cloud:backup']);
    expect(q.pending().map((e) => `${e.repository}:${e.kind}`)).toEqual(['nas:check']);
    backup.finish();
    await expect(pBackup).resolves.toBe('done');
    await flush();
    expect(check.started.value).toBe(true);
    check.finish('ok');
    other.finish();
    await expect(pCheck).resolves.toBe('ok');
    await expect(pOther).resolves.toBe('done');
    expect(q.running()).toEqual([]);
  });

  it('is FIFO per repository: backups queued after an exclusive op wait for it even when sharing is allowed', async () => {
    const q = new RepoQueue({ maxSharedPerRepository: 2 });
    const order: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const add = (name: string, kind: RunKind) => {
      const g = gate();
      gates.set(name, g);
      void q.run('nas', kind, async (s) => {
        order.push(name);
        return g.fn(s);
      });
    };
    add('b1', 'backup');
    add('b2', 'backup'); // shares with b1
    add('forget', 'forget');
    add('b3', 'backup');
    await flush();
    expect(order).toEqual(['b1', 'b2']);
    gates.get('b1')?.finish();
    await flush();
    expect(order).toEqual(['b1', 'b2']); // forget needs the repository to itself
    gates.get('b2')?.finish();
    await flush();
    expect(order).toEqual(['b1', 'b2', 'forget']);
    gates.get('forget')?.finish();
    await flush();
    expect(order).toEqual(['b1', 'b2', 'forget', 'b3']);
  });

  it('applies global per-kind limits across repositories', async () => {
    const q = new RepoQueue({ maxPerKind: { backup: 1 } });
    const a = gate();
    const b = gate();
    void q.run('nas', 'backup', a.fn);
    const pb = q.run('cloud', 'backup', b.fn);
    await flush();
    expect(b.started.value).toBe(false);
    a.finish();
    await flush();
    expect(b.started.value).toBe(true);
    b.finish();
    await pb;
  });

  it('cancels queued items without running them, and aborts running ones through their signal', async () => {
    const q = new RepoQueue();
    const running = gate();
    const queued = gate();
    const ctl = new AbortController();
    const p1 = q.run('nas', 'backup', running.fn, { id: 'one' });
    const p2 = q.run('nas', 'check', queued.fn, { signal: ctl.signal });
    await flush();
    ctl.abort();
    await expect(p2).rejects.toBeInstanceOf(QueueCancelledError);
    expect(queued.started.value).toBe(false);
    expect(q.pending()).toEqual([]);
    expect(q.cancel('one')).toBe(true);
    await expect(p1).resolves.toBe('aborted');
    expect(q.cancel('unknown')).toBe(false);
    const pre = new AbortController();
    pre.abort();
    await expect(q.run('nas', 'backup', () => Promise.resolve(1), { signal: pre.signal })).rejects.toThrow(/cancelled/);
  });

  it('a throwing operation rejects its caller and frees the repository', async () => {
    const q = new RepoQueue();
    await expect(q.run('nas', 'backup', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(
      q.run('nas', 'check', () => {
        throw new Error('sync boom');
      }),
    ).rejects.toThrow('sync boom');
    await expect(q.run('nas', 'backup', () => Promise.resolve(42))).resolves.toBe(42);
  });
});
