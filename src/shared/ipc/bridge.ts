import type { AgentApi, AgentEvents } from '../agent-api.js';

/**
 * What the preload exposes as `window.agent`: every `AgentApi` operation, event subscriptions that return an
 * unsubscribe function, and `ready()` which tells main the window is listening (queued events flow then).
 *
 * Declared here, not in the preload, so the renderer can type `window.agent` without importing preload code.
 */
export interface AgentBridge extends AgentApi {
  onStatus(listener: (status: AgentEvents['status']) => void): () => void;
  onRunProgress(listener: (progress: AgentEvents['run-progress']) => void): () => void;
  onRunFinished(listener: (record: AgentEvents['run-finished']) => void): () => void;
  onLogs(listener: (entries: AgentEvents['logs']) => void): () => void;
  ready(): void;
}
