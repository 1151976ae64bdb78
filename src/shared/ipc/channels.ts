import type { AgentApi, AgentEvents } from '../agent-api.js';

/**
 * Invoke channel per `AgentApi` method (renderer → main, request/response).
 *
 * Names are `domain:action`; nobody types them out by hand, they are always read from here.
 */
export const INVOKE_CHANNELS = {
  getStatus: 'agent:get-status',
  backupNow: 'agent:backup-now',
  checkNow: 'agent:check-now',
  cancel: 'agent:cancel',
  pause: 'agent:pause',
  resume: 'agent:resume',
  getHistory: 'history:get',
  getLogs: 'logs:get',
  getConfig: 'config:get',
  saveConfig: 'config:save',
  listSnapshots: 'snapshots:list',
  restore: 'snapshots:restore',
  testRepository: 'setup:test-repository',
  generatePassword: 'setup:generate-password',
  setupStandalone: 'setup:standalone',
  setupManaged: 'setup:managed',
  getSettings: 'settings:get',
  setSettings: 'settings:set',
} as const satisfies { readonly [K in keyof AgentApi]-?: string };

/** The events the window receives (alerts stay in main: the notifier shows them). */
export type WindowEvents = Omit<AgentEvents, 'alert'>;

/** Event channel per `WindowEvents` key (main → renderer, pushed). */
export const EVENT_CHANNELS = {
  status: 'agent:status-changed',
  'run-progress': 'agent:run-progress',
  'run-finished': 'agent:run-finished',
  logs: 'logs:appended',
} as const satisfies { readonly [K in keyof WindowEvents]-?: string };

/** Renderer → main one-way message: the window has subscribed and can receive queued events. */
export const RENDERER_READY_CHANNEL = 'ui:ready';

/** The `AgentApi` method names, in a stable order. */
export type ApiMethod = keyof typeof INVOKE_CHANNELS;

/** All method names (for loops that register or expose every operation). */
export const API_METHODS = Object.keys(INVOKE_CHANNELS) as ReadonlyArray<ApiMethod>;
