import type { AgentApi } from '../shared/agent-api.js';
import type { AgentBridge } from '../shared/ipc/bridge.js';
import { EVENT_CHANNELS, INVOKE_CHANNELS, RENDERER_READY_CHANNEL, type ApiMethod, type WindowEvents } from '../shared/ipc/channels.js';
import { unwrap, type IpcResult } from '../shared/ipc/result.js';

/** The part of Electron's `ipcRenderer` the bridge uses (a fake in tests). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  send(channel: string): void;
}

/**
 * Builds `window.agent`: one function per operation, never `ipcRenderer` itself.
 *
 * Results arrive as `IpcResult` envelopes and are unwrapped here, so the renderer gets values or `Error`s
 * with the real message (and `code`/`issues` for invalid arguments). Subscriptions return an unsubscribe
 * function and never pass Electron's event object on.
 */
export function createAgentBridge(ipc: IpcRendererLike): AgentBridge {
  const call =
    <K extends ApiMethod>(method: K) =>
    async (...args: Parameters<AgentApi[K]>): Promise<Awaited<ReturnType<AgentApi[K]>>> =>
      unwrap((await ipc.invoke(INVOKE_CHANNELS[method], ...args)) as IpcResult<Awaited<ReturnType<AgentApi[K]>>>);
  const subscribe =
    <K extends keyof WindowEvents>(event: K) =>
    (listener: (payload: WindowEvents[K]) => void): (() => void) => {
      const wrapped = (_event: unknown, payload: unknown): void => listener(payload as WindowEvents[K]);
      ipc.on(EVENT_CHANNELS[event], wrapped);
      return () => void ipc.removeListener(EVENT_CHANNELS[event], wrapped);
    };
  return {
    getStatus: call('getStatus'),
    backupNow: call('backupNow'),
    checkNow: call('checkNow'),
    cancel: call('cancel'),
    pause: call('pause'),
    resume: call('resume'),
    getHistory: call('getHistory'),
    getLogs: call('getLogs'),
    getConfig: call('getConfig'),
    saveConfig: call('saveConfig'),
    listSnapshots: call('listSnapshots'),
    restore: call('restore'),
    testRepository: call('testRepository'),
    generatePassword: call('generatePassword'),
    setupStandalone: call('setupStandalone'),
    setupManaged: call('setupManaged'),
    getSettings: call('getSettings'),
    setSettings: call('setSettings'),
    onStatus: subscribe('status'),
    onRunProgress: subscribe('run-progress'),
    onRunFinished: subscribe('run-finished'),
    onLogs: subscribe('logs'),
    ready: () => ipc.send(RENDERER_READY_CHANNEL),
  };
}
