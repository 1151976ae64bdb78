import type { AgentApi } from '../../shared/agent-api.js';
import { API_METHODS, INVOKE_CHANNELS, RENDERER_READY_CHANNEL, type ApiMethod } from '../../shared/ipc/channels.js';
import { ARGUMENT_SCHEMAS, describeIssues } from '../../shared/ipc/contract.js';
import { fail, ok, type IpcResult } from '../../shared/ipc/result.js';
import type { IpcEventLike, TrustedSenders } from './trusted-senders.js';

/** The part of Electron's `ipcMain` the wrapper uses (a fake in tests). */
export interface IpcMainLike {
  handle(channel: string, handler: (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
  on(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => void): unknown;
}

/** Optional hook to report rejected calls (logged by the caller, never thrown). */
export type RejectionReporter = (channel: string, reason: string) => void;

/**
 * Runs one call: trusted sender → zod-parsed arguments → the API method → result envelope.
 *
 * Never throws: every failure comes back as `{ ok: false, error }` so the renderer sees the real message.
 */
export async function dispatch<K extends ApiMethod>(
  api: AgentApi,
  trusted: TrustedSenders,
  method: K,
  event: IpcEventLike,
  args: ReadonlyArray<unknown>,
  report: RejectionReporter = () => {},
): Promise<IpcResult<unknown>> {
  if (!trusted.isTrusted(event)) {
    report(INVOKE_CHANNELS[method], 'untrusted sender');
    return fail(new Error('This request did not come from the agent window and was refused.'), 'untrusted-sender');
  }
  const parsed = ARGUMENT_SCHEMAS[method].safeParse(args);
  if (!parsed.success) {
    const issues = describeIssues(method, parsed.error);
    report(INVOKE_CHANNELS[method], 'invalid arguments');
    const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return { ok: false, error: { name: 'TypeError', message, code: 'invalid-argument', issues } };
  }
  try {
    const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
    return ok(await fn.apply(api, parsed.data as unknown[]));
  } catch (error) {
    return fail(error);
  }
}

/**
 * Registers one invoke handler per `AgentApi` method, and the renderer-ready listener.
 *
 * Returns a function that removes them all (used on quit and in tests).
 */
export function registerAgentHandlers(
  ipcMain: IpcMainLike,
  api: AgentApi,
  trusted: TrustedSenders,
  onRendererReady: (senderId: number) => void,
  report?: RejectionReporter,
): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(INVOKE_CHANNELS[method], (event, ...args) => dispatch(api, trusted, method, event, args, report));
  }
  const ready = (event: IpcEventLike): void => {
    if (trusted.isTrusted(event)) onRendererReady(event.sender.id);
    else report?.(RENDERER_READY_CHANNEL, 'untrusted sender');
  };
  ipcMain.on(RENDERER_READY_CHANNEL, ready);
  return () => {
    for (const method of API_METHODS) ipcMain.removeHandler(INVOKE_CHANNELS[method]);
    ipcMain.removeListener(RENDERER_READY_CHANNEL, ready);
  };
}
