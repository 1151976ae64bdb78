import { describe, expect, it } from 'vitest';
import { registerAgentHandlers } from '../../src/main/ipc/ipc-main.js';
import { TrustedSenders, urlUnder } from '../../src/main/ipc/trusted-senders.js';
import { createAgentBridge } from '../../src/preload/agent-bridge.js';
import { API_METHODS, INVOKE_CHANNELS, RENDERER_READY_CHANNEL } from '../../src/shared/ipc/channels.js';
import { AgentIpcError } from '../../src/shared/ipc/result.js';
import { FakeIpcMain, FakeWebContents, ipcEvent } from './fake-electron.js';
import { fakeAgentApi } from './fake-agent-api.js';

const APP = 'file:///app/dist/renderer/index.html';

function setup() {
  const ipcMain = new FakeIpcMain();
  const api = fakeAgentApi();
  const trusted = new TrustedSenders(urlUnder(APP));
  const contents = new FakeWebContents(7);
  trusted.add(contents);
  const ready: number[] = [];
  const rejected: string[] = [];
  const remove = registerAgentHandlers(
    ipcMain,
    api,
    trusted,
    (id) => ready.push(id),
    (ch, why) => rejected.push(`${ch}: ${why}`),
  );
  return { ipcMain, api, trusted, contents, ready, rejected, remove };
}

describe('IPC handlers', () => {
  it('registers one handler per AgentApi method and removes them all', () => {
    const { ipcMain, remove } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual(API_METHODS.map((m) => INVOKE_CHANNELS[m]).sort());
    remove();
    expect(ipcMain.handlers.size).toBe(0);
    expect(ipcMain.listeners.get(RENDERER_READY_CHANNEL)?.size).toBe(0);
  });

  it('passes parsed arguments to the core and returns the value in an envelope', async () => {
    const { ipcMain, api, contents } = setup();
    const res = await ipcMain.invoke(ipcEvent(contents), INVOKE_CHANNELS.backupNow, '/home/me');
    expect(res).toEqual({ ok: true, value: { runIds: ['r1'] } });
    expect(api.backupNow).toHaveBeenCalledWith('/home/me');
  });

  it('rejects bad arguments with a message naming the field; the core is not called', async () => {
    const { ipcMain, api, contents, rejected } = setup();
    const bad = (await ipcMain.invoke(ipcEvent(contents), INVOKE_CHANNELS.restore, {
      repository: 'default',
      snapshotId: 'not-hex!',
      include: null,
      target: '',
    })) as { ok: false; error: { code: string; message: string; issues: Array<{ path: string }> } };
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe('invalid-argument');
    expect(bad.error.issues.map((i) => i.path)).toEqual(['restore[0].snapshotId', 'restore[0].target']);
    expect(bad.error.message).toMatch(/snapshot id/);
    expect(api.restore).not.toHaveBeenCalled();
    // Extra keys, wrong types and extra arguments are refused too.
    for (const args of [[{ limit: 10, evil: true }], [{ limit: '10' }], [{ limit: 10 }, 'extra']]) {
      const r = (await ipcMain.invoke(ipcEvent(contents), INVOKE_CHANNELS.getLogs, ...args)) as { ok: boolean };
      expect(r.ok).toBe(false);
    }
    expect(api.getLogs).not.toHaveBeenCalled();
    expect(rejected).toHaveLength(4);
  });

  it('refuses untrusted senders: unknown webContents, foreign frame URL, destroyed window', async () => {
    const { ipcMain, api, contents } = setup();
    const stranger = new FakeWebContents(99);
    for (const event of [ipcEvent(stranger), ipcEvent(contents, 'https://evil.example/'), { sender: contents, senderFrame: null }]) {
      const r = (await ipcMain.invoke(event, INVOKE_CHANNELS.getStatus)) as { ok: false; error: { code: string } };
      expect(r.error.code).toBe('untrusted-sender');
    }
    contents.destroy();
    const r = (await ipcMain.invoke(ipcEvent(contents), INVOKE_CHANNELS.getStatus)) as { ok: boolean };
    expect(r.ok).toBe(false);
    expect(api.getStatus).not.toHaveBeenCalled();
  });

  it('returns core failures as data, with the real message', async () => {
    const { ipcMain, api, contents } = setup();
    api.pause.mockRejectedValueOnce(Object.assign(new Error('Nothing to pause: the agent is not set up'), { code: 'not-configured' }));
    const r = await ipcMain.invoke(ipcEvent(contents), INVOKE_CHANNELS.pause, null);
    expect(r).toEqual({ ok: false, error: { name: 'Error', message: 'Nothing to pause: the agent is not set up', code: 'not-configured' } });
  });

  it('only trusted senders can signal ready', () => {
    const { ipcMain, contents, ready } = setup();
    ipcMain.emit(ipcEvent(new FakeWebContents(3)), RENDERER_READY_CHANNEL);
    ipcMain.emit(ipcEvent(contents), RENDERER_READY_CHANNEL);
    expect(ready).toEqual([7]);
  });
});

describe('preload bridge over the handlers', () => {
  function bridgeFor(s: ReturnType<typeof setup>) {
    const listeners = new Map<string, Set<(e: unknown, p: unknown) => void>>();
    const bridge = createAgentBridge({
      invoke: (channel, ...args) => s.ipcMain.invoke(ipcEvent(s.contents), channel, ...args),
      on: (ch, l) => listeners.set(ch, (listeners.get(ch) ?? new Set()).add(l)),
      removeListener: (ch, l) => listeners.get(ch)?.delete(l),
      send: (ch) => s.ipcMain.emit(ipcEvent(s.contents), ch),
    });
    return { bridge, listeners };
  }

  it('unwraps values and turns error envelopes into Errors with code and issues', async () => {
    const s = setup();
    const { bridge } = bridgeFor(s);
    await expect(bridge.generatePassword()).resolves.toBe('pw');
    const err = await bridge.getHistory({ limit: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentIpcError);
    expect((err as AgentIpcError).code).toBe('invalid-argument');
    expect((err as AgentIpcError).issues[0]?.path).toBe('getHistory[0].limit');
    s.api.saveConfig.mockRejectedValueOnce(new Error('disk full'));
    await expect(bridge.saveConfig('a: 1')).rejects.toThrow('disk full');
  });

  it('subscriptions return unsubscribe and pass only the payload; ready() reaches main', () => {
    const s = setup();
    const { bridge, listeners } = bridgeFor(s);
    const got: unknown[] = [];
    const off = bridge.onLogs((entries) => got.push(entries));
    for (const l of listeners.get('logs:appended') ?? []) l({ sender: 'electron-event' }, [{ seq: 1 }]);
    off();
    expect(listeners.get('logs:appended')?.size).toBe(0);
    expect(got).toEqual([[{ seq: 1 }]]);
    bridge.ready();
    expect(s.ready).toEqual([7]);
  });
});
