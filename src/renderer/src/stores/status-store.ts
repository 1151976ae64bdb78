import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentApi } from '../../../shared/agent-api.js';
import type { RunRecord } from '../../../shared/model/run.js';
import { type AgentStatus, type RunningInfo, withRunProgress } from '../../../shared/model/status.js';

/** The status screen's view of the agent (a copy of main's state, refreshed by events). */
export interface StatusState {
  readonly status: AgentStatus | null;
  readonly history: ReadonlyArray<RunRecord>;
  /** The last action's error, in plain words (cleared by the next action). */
  readonly error: string | null;
  readonly busy: boolean;
  load(): Promise<void>;
  applyStatus(status: AgentStatus): void;
  applyProgress(progress: RunningInfo): void;
  /** A run ended: its record goes to the top of the history (no re-fetch). */
  applyRunFinished(record: RunRecord): void;
  backupNow(source: string | null): Promise<void>;
  checkNow(): Promise<void>;
  cancel(runId: string | null): Promise<void>;
  pause(until: string | null): Promise<void>;
  resume(): Promise<void>;
}

/** Creates the status store for an injected API (the real bridge, or a fake in tests). */
export function createStatusStore(api: AgentApi, historyLimit = 20): StoreApi<StatusState> {
  return createStore<StatusState>((set, get) => {
    const act = async (fn: () => Promise<unknown>): Promise<void> => {
      set({ busy: true, error: null });
      try {
        await fn();
      } catch (e) {
        set({ error: e instanceof Error ? e.message : String(e) });
      } finally {
        set({ busy: false });
      }
    };
    return {
      status: null,
      history: [],
      error: null,
      busy: false,
      load: () =>
        act(async () => {
          const [status, history] = await Promise.all([api.getStatus(), api.getHistory({ limit: historyLimit })]);
          set({ status, history });
        }),
      applyStatus: (status) => set({ status }),
      applyProgress: (progress) => {
        const status = get().status;
        if (status) set({ status: withRunProgress(status, progress) });
      },
      applyRunFinished: (record) => set({ history: [record, ...get().history.filter((r) => r.id !== record.id)].slice(0, historyLimit) }),
      backupNow: (source) => act(() => api.backupNow(source)),
      checkNow: () => act(() => api.checkNow(null)),
      cancel: (runId) => act(() => api.cancel(runId)),
      pause: (until) => act(() => api.pause(until)),
      resume: () => act(() => api.resume()),
    };
  });
}
