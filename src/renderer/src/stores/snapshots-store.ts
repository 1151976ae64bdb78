import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentApi, PluginRestoreTarget, SnapshotInfo } from '../../../shared/agent-api.js';

/** Snapshot list and restore requests. */
export interface SnapshotsState {
  readonly repository: string | null;
  readonly snapshots: ReadonlyArray<SnapshotInfo>;
  readonly loading: boolean;
  readonly error: string | null;
  /** The restore started last (its progress arrives with the status). */
  readonly restoreRunId: string | null;
  load(repository: string | null): Promise<void>;
  restore(request: { snapshotId: string; include: string | null; target: string; into?: PluginRestoreTarget | null }): Promise<void>;
}

/** Creates the snapshots store for an injected API. */
export function createSnapshotsStore(api: AgentApi): StoreApi<SnapshotsState> {
  return createStore<SnapshotsState>((set, get) => ({
    repository: null,
    snapshots: [],
    loading: false,
    error: null,
    restoreRunId: null,
    load: async (repository) => {
      set({ repository, loading: true, error: null });
      try {
        const list = await api.listSnapshots(repository);
        set({ snapshots: [...list].sort((a, b) => b.time.localeCompare(a.time)) });
      } catch (e) {
        set({ error: e instanceof Error ? e.message : String(e), snapshots: [] });
      } finally {
        set({ loading: false });
      }
    },
    restore: async ({ snapshotId, include, target, into }) => {
      set({ error: null });
      const repository = get().repository ?? 'default';
      if (into && into.name.trim() === '') return set({ error: `Give the new ${into.kind === 'file' ? 'file' : into.kind}'s name.` });
      if (!into && target.trim() === '') return set({ error: 'Choose the folder to restore into.' });
      try {
        const { runId } = await api.restore({
          repository,
          snapshotId,
          include: include?.trim() ? include.trim() : null,
          target: target.trim(),
          into: into ? { ...into, name: into.name.trim() } : null,
        });
        set({ restoreRunId: runId });
      } catch (e) {
        set({ error: e instanceof Error ? e.message : String(e) });
      }
    },
  }));
}
