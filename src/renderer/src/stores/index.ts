import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { AgentBridge } from '../../../shared/ipc/bridge.js';
import { createLogsStore, type LogsState } from './logs-store.js';
import { createSettingsStore, type SettingsState } from './settings-store.js';
import { createSnapshotsStore, type SnapshotsState } from './snapshots-store.js';
import { createStatusStore, type StatusState } from './status-store.js';
import { createWizardStore, type WizardState } from './wizard-store.js';

/** All renderer stores, built around one API object. */
export interface Stores {
  readonly status: StoreApi<StatusState>;
  readonly logs: StoreApi<LogsState>;
  readonly settings: StoreApi<SettingsState>;
  readonly snapshots: StoreApi<SnapshotsState>;
  readonly wizard: StoreApi<WizardState>;
}

/** Creates the stores and connects them to the bridge's events; returns them and a disconnect function. */
export function connectStores(api: AgentBridge): { stores: Stores; disconnect: () => void } {
  const stores: Stores = {
    status: createStatusStore(api),
    logs: createLogsStore(api),
    settings: createSettingsStore(api),
    snapshots: createSnapshotsStore(api),
    wizard: createWizardStore(api),
  };
  const offs = [
    api.onStatus((s) => stores.status.getState().applyStatus(s)),
    api.onRunProgress((p) => stores.status.getState().applyProgress(p)),
    api.onRunFinished((r) => stores.status.getState().applyRunFinished(r)),
    api.onLogs((entries) => stores.logs.getState().append(entries)),
    // After setup the agent's status changes shape (configured, sources): fetch it and the history again.
    stores.wizard.subscribe((s, before) => {
      if (s.step === 'done' && before.step !== 'done') void stores.status.getState().load();
    }),
  ];
  api.ready();
  void stores.status.getState().load();
  void stores.logs
    .getState()
    .load()
    .catch(() => {});
  return { stores, disconnect: () => offs.forEach((off) => off()) };
}

/** React context carrying the stores (provided by `main.tsx`, or by a test). */
export const StoresContext = createContext<Stores | null>(null);

/** Selects from one of the stores. */
export function useApp<K extends keyof Stores, T>(key: K, selector: (s: ReturnType<Stores[K]['getState']>) => T): T {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('StoresContext is not provided');
  return useStore(stores[key] as StoreApi<ReturnType<Stores[K]['getState']>>, selector);
}

/** The raw stores (for actions). */
export function useStores(): Stores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('StoresContext is not provided');
  return stores;
}
