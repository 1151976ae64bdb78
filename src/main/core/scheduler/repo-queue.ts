import { randomUUID } from 'node:crypto';
import type { RunKind } from '../../../shared/model/run.js';

/** restic operations that take an exclusive repository lock; they never overlap any other operation there. */
export const EXCLUSIVE_KINDS: ReadonlySet<RunKind> = new Set<RunKind>(['forget', 'prune', 'check', 'unlock']);

/** An operation waiting or running, for status screens. */
export interface QueueEntry {
  readonly id: string;
  readonly repository: string;
  readonly kind: RunKind;
  /** Wall ms when queued / started. */
  readonly since: number;
  readonly label: string | null;
}

export interface RepoQueueOptions {
  /** How many non-exclusive operations (backups, restores) may share one repository at once (default 1). */
  readonly maxSharedPerRepository?: number;
  /** Global limits per kind across all repositories, e.g. `{ backup: 1 }` on a slow laptop. */
  readonly maxPerKind?: Partial<Record<RunKind, number>>;
  readonly now?: () => number;
}

interface Item {
  readonly entry: QueueEntry;
  readonly run: (signal: AbortSignal) => Promise<unknown>;
  readonly controller: AbortController;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly detach: () => void;
}

/** Rejection of an operation cancelled before it started. */
export class QueueCancelledError extends Error {
  constructor(readonly entry: QueueEntry) {
    super(`${entry.kind} on repository "${entry.repository}" was cancelled before it started`);
    this.name = 'AbortError';
  }
}

/**
 * Per-repository mutual exclusion for restic operations, shared by the scheduler and orchestrator tasks.
 *
 * FIFO per repository (a waiting `check` is not overtaken by later backups); exclusive kinds wait for the
 * repository to be idle and block everything queued after them. Different repositories run in parallel,
 * subject to the optional global per-kind limits.
 */
export class RepoQueue {
  readonly #pending: Item[] = [];
  readonly #running: Item[] = [];
  readonly #maxShared: number;
  readonly #maxPerKind: Partial<Record<RunKind, number>>;
  readonly #now: () => number;

  constructor(options: RepoQueueOptions = {}) {
    this.#maxShared = Math.max(1, options.maxSharedPerRepository ?? 1);
    this.#maxPerKind = options.maxPerKind ?? {};
    this.#now = options.now ?? Date.now;
  }

  /**
   * Runs `fn` when the repository is free for `kind`; resolves or rejects with its result.
   *
   * `fn` receives a signal that aborts when `opts.signal` aborts or `cancel(id)` is called. Aborting while
   * still queued removes the item and rejects with `QueueCancelledError` without calling `fn`.
   */
  run<T>(
    repository: string,
    kind: RunKind,
    fn: (signal: AbortSignal) => Promise<T>,
    opts: { readonly signal?: AbortSignal; readonly id?: string; readonly label?: string } = {},
  ): Promise<T> {
    const entry: QueueEntry = {
      id: opts.id ?? randomUUID(),
      repository,
      kind,
      since: this.#now(),
      label: opts.label ?? null,
    };
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const onAbort = (): void => {
        this.#abort(entry.id);
      };
      const item: Item = {
        entry,
        run: fn,
        controller,
        resolve: resolve as (v: unknown) => void,
        reject,
        detach: () => opts.signal?.removeEventListener('abort', onAbort),
      };
      if (opts.signal?.aborted) {
        reject(new QueueCancelledError(entry));
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(item);
      this.#pump();
    });
  }

  /** Cancels a queued item (removed) or a running one (its signal aborts). Returns false when unknown. */
  cancel(id: string): boolean {
    return this.#abort(id);
  }

  /** Operations running now. */
  running(): QueueEntry[] {
    return this.#running.map((i) => i.entry);
  }

  /** Operations waiting, in start order. */
  pending(): QueueEntry[] {
    return this.#pending.map((i) => i.entry);
  }

  #abort(id: string): boolean {
    const queued = this.#pending.findIndex((i) => i.entry.id === id);
    if (queued >= 0) {
      const [item] = this.#pending.splice(queued, 1);
      if (item) {
        item.detach();
        item.reject(new QueueCancelledError(item.entry));
      }
      this.#pump();
      return true;
    }
    const running = this.#running.find((i) => i.entry.id === id);
    if (running) {
      running.controller.abort();
      return true;
    }
    return false;
  }

  #canStart(item: Item, startedNow: Item[]): boolean {
    const { repository, kind } = item.entry;
    const active = [...this.#running, ...startedNow];
    const here = active.filter((i) => i.entry.repository === repository);
    if (EXCLUSIVE_KINDS.has(kind)) {
      if (here.length > 0) return false;
    } else if (here.some((i) => EXCLUSIVE_KINDS.has(i.entry.kind)) || here.length >= this.#maxShared) {
      return false;
    }
    const limit = this.#maxPerKind[kind];
    return limit === undefined || active.filter((i) => i.entry.kind === kind).length < limit;
  }

  #pump(): void {
    const blockedRepos = new Set<string>();
    const started: Item[] = [];
    for (const item of [...this.#pending]) {
      const repo = item.entry.repository;
      // FIFO per repository: once one item of a repository waits, later ones wait behind it.
      if (blockedRepos.has(repo)) continue;
      if (!this.#canStart(item, started)) {
        blockedRepos.add(repo);
        continue;
      }
      started.push(item);
      this.#pending.splice(this.#pending.indexOf(item), 1);
    }
    for (const item of started) this.#start(item);
  }

  #start(item: Item): void {
    this.#running.push(item);
    const done = (): void => {
      item.detach();
      this.#running.splice(this.#running.indexOf(item), 1);
      this.#pump();
    };
    let promise: Promise<unknown>;
    try {
      promise = item.run(item.controller.signal);
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise.then(
      (v) => {
        done();
        item.resolve(v);
      },
      (e: unknown) => {
        done();
        item.reject(e);
      },
    );
  }
}
