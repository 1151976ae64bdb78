import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentApi } from '../../../shared/agent-api.js';
import type { LogEntry, LogLevel } from '../../../shared/model/log.js';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** The live log: a capped buffer fed by batched events, filtered by level and run. */
export interface LogsState {
  /** Bumped on every change; the array below is mutated in place (copying 100,000 lines per batch is too slow). */
  readonly version: number;
  readonly minLevel: LogLevel;
  readonly runId: string | null;
  /** Lines matching the filters, oldest first. */
  readonly visible: ReadonlyArray<LogEntry>;
  /** Run ids seen in the buffer, newest first (for the run filter). */
  readonly runIds: ReadonlyArray<string>;
  load(): Promise<void>;
  append(entries: ReadonlyArray<LogEntry>): void;
  setMinLevel(level: LogLevel): void;
  setRunId(runId: string | null): void;
  /** The visible lines as text, one per line (for copy and export). */
  asText(): string;
}

/** Creates the log store; `capacity` lines are kept (oldest dropped first). */
export function createLogsStore(api: AgentApi, capacity = 100_000): StoreApi<LogsState> {
  const all: LogEntry[] = [];
  let lastSeq = 0;
  let runs: string[] = [];
  let visible: LogEntry[] = [];

  return createStore<LogsState>((set, get) => {
    const matches = (e: LogEntry, s: Pick<LogsState, 'minLevel' | 'runId'>): boolean =>
      RANK[e.level] >= RANK[s.minLevel] && (s.runId === null || e.runId === s.runId);
    const refilter = (s: Pick<LogsState, 'minLevel' | 'runId'>): LogEntry[] => all.filter((e) => matches(e, s));
    return {
      version: 0,
      minLevel: 'info',
      runId: null,
      visible,
      runIds: runs,
      load: async () => {
        get().append(await api.getLogs({ limit: Math.min(capacity, 10_000) }));
      },
      append: (entries) => {
        const s = get();
        let added = 0;
        let newRun = false;
        for (const e of entries) {
          if (e.seq <= lastSeq) continue; // already have it (initial load overlapping live events)
          lastSeq = e.seq;
          all.push(e);
          added++;
          if (e.runId && !runs.includes(e.runId)) {
            runs = [e.runId, ...runs];
            newRun = true;
          }
          if (matches(e, s)) visible.push(e);
        }
        if (added === 0) return;
        if (all.length > capacity) {
          const drop = all.length - capacity;
          const firstKept = all[drop]?.seq ?? 0;
          all.splice(0, drop);
          const cut = visible.findIndex((e) => e.seq >= firstKept);
          visible.splice(0, cut === -1 ? visible.length : cut);
        }
        // A new array identity only when the run list changed; `visible` is the same array, `version` signals.
        set({ version: s.version + 1, visible, ...(newRun ? { runIds: runs } : {}) });
      },
      setMinLevel: (minLevel) => {
        visible = refilter({ minLevel, runId: get().runId });
        set({ minLevel, visible, version: get().version + 1 });
      },
      setRunId: (runId) => {
        visible = refilter({ minLevel: get().minLevel, runId });
        set({ runId, visible, version: get().version + 1 });
      },
      asText: () => get().visible.map(formatLine).join('\n'),
    };
  });
}

/** One log line as text: time, level, run, message. */
export function formatLine(e: LogEntry): string {
  return `${e.time} ${e.level.toUpperCase().padEnd(5)} ${e.runId ? `[${e.runId.slice(0, 8)}] ` : ''}${e.message}`;
}
