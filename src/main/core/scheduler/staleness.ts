import { z } from 'zod';
import type { AgentStateStore } from '../state/agent-state.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { systemClock } from '../time/clock.js';
import type { AgentAlert } from '../../../shared/model/alert.js';
import { TypedEmitter } from './events.js';

/** The newest snapshot time of a source in a repository (made by anyone); throws when the repository cannot be opened. */
export type NewestSnapshotReader = (repository: string, source: string) => Promise<Date | null>;

/** A source the watchdog looks after. */
export interface WatchedSource {
  readonly repository: string;
  readonly source: string;
  /** 0 = no staleness alerts for this source (its age is still reported). */
  readonly staleAfterMs: number;
}

/** The age of one source's newest snapshot. */
export interface SourceFreshness {
  readonly repository: string;
  readonly source: string;
  /** null when there is no snapshot or the repository could not be read. */
  readonly newestSnapshotAt: string | null;
  readonly ageMs: number | null;
  readonly stale: boolean;
  readonly repositoryError: string | null;
}

const flagsSchema = z.object({ stale: z.boolean() });
const repoFlagSchema = z.object({ unreachable: z.boolean() });

/**
 * Alerts when a source has had no snapshot for longer than `stale_after` — counted from the repository, so
 * backups made elsewhere (another machine, a manual restic run) count — and when a repository cannot be
 * opened at all (which otherwise stays silent: no run, no failure).
 *
 * Each alert fires once per transition (stale → fresh → stale …); the flags live in the agent-state table so
 * a restart does not alert again.
 */
export class StalenessWatchdog {
  readonly #events = new TypedEmitter<{ alert: AgentAlert }>();
  readonly #clock: Clock;
  #timer: TimerHandle | null = null;
  #last: SourceFreshness[] = [];

  constructor(
    private readonly reader: NewestSnapshotReader,
    private readonly state: AgentStateStore,
    private sources: ReadonlyArray<WatchedSource>,
    clock: Clock = systemClock,
  ) {
    this.#clock = clock;
  }

  on(event: 'alert', listener: (a: AgentAlert) => void): () => void {
    return this.#events.on(event, listener);
  }

  setSources(sources: ReadonlyArray<WatchedSource>): void {
    this.sources = sources;
  }

  /** The result of the latest `check()`. */
  last(): ReadonlyArray<SourceFreshness> {
    return this.#last;
  }

  /** Reads every source's newest snapshot and fires the alerts of any transition. */
  async check(): Promise<SourceFreshness[]> {
    const now = this.#clock.now();
    const byRepo = new Map<string, WatchedSource[]>();
    for (const s of this.sources) byRepo.set(s.repository, [...(byRepo.get(s.repository) ?? []), s]);
    const out: SourceFreshness[] = [];
    for (const [repository, sources] of byRepo) {
      let repoError: string | null = null;
      for (const s of sources) {
        if (repoError !== null) {
          out.push({ repository, source: s.source, newestSnapshotAt: null, ageMs: null, stale: false, repositoryError: repoError });
          continue;
        }
        let newest: Date | null;
        try {
          newest = await this.reader(repository, s.source);
        } catch (e) {
          repoError = e instanceof Error ? e.message : String(e);
          out.push({ repository, source: s.source, newestSnapshotAt: null, ageMs: null, stale: false, repositoryError: repoError });
          continue;
        }
        out.push(this.#judge(s, newest, now));
      }
      this.#repoTransition(repository, repoError, now);
    }
    this.#last = out;
    return out;
  }

  /**
   * A backup of `source` just saved a snapshot at `at`: update that source from the backup's own summary, with
   * the same transitions as `check()`, but without reading the repository.
   */
  observed(repository: string, source: string, at: Date): void {
    const s = this.sources.find((x) => x.repository === repository && x.source === source);
    if (!s) return;
    const fresh = this.#judge(s, at, this.#clock.now());
    const others = this.#last.filter((x) => x.repository !== repository || x.source !== source);
    this.#last = [...others, fresh];
  }

  /** Checks now and then every `intervalMs` (one timer; after a backup the agent calls `observed()` instead). */
  start(intervalMs: number): void {
    this.stop();
    const loop = (): void => {
      this.#timer = this.#clock.setTimer(intervalMs, loop);
      void this.check().catch(() => undefined);
    };
    loop();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  #judge(s: WatchedSource, newest: Date | null, now: number): SourceFreshness {
    const age = newest ? Math.max(0, now - newest.getTime()) : null;
    const key = `stale:${s.repository}:${s.source}`;
    const was = this.state.get(key, flagsSchema)?.stale ?? false;
    let stale = was;
    if (s.staleAfterMs > 0) {
      // No snapshot at all is stale only once the source has been watched for stale_after (fresh setups are not alarming).
      const since = this.#watchedSince(s, now);
      stale = age === null ? now - since >= s.staleAfterMs : age > s.staleAfterMs;
      if (stale !== was) {
        this.state.set(key, { stale });
        const ageText = age === null ? 'no snapshot yet' : `newest snapshot is ${humanAge(age)} old`;
        this.#events.emit('alert', {
          kind: stale ? 'stale' : 'fresh-again',
          severity: stale ? 'warning' : 'info',
          repository: s.repository,
          source: s.source,
          message: stale
            ? `${s.source} has no recent backup in "${s.repository}": ${ageText} (stale_after ${humanAge(s.staleAfterMs)})`
            : `${s.source} is backed up again in "${s.repository}": ${ageText}`,
          at: new Date(now).toISOString(),
        });
      }
    }
    return {
      repository: s.repository,
      source: s.source,
      newestSnapshotAt: newest ? newest.toISOString() : null,
      ageMs: age,
      stale,
      repositoryError: null,
    };
  }

  #watchedSince(s: WatchedSource, now: number): number {
    const key = `stale-watch:${s.repository}:${s.source}`;
    const got = this.state.get(key, z.number());
    if (got !== null) return got;
    this.state.set(key, now);
    return now;
  }

  #repoTransition(repository: string, error: string | null, now: number): void {
    const key = `repo-unreachable:${repository}`;
    const was = this.state.get(key, repoFlagSchema)?.unreachable ?? false;
    const is = error !== null;
    if (is === was) return;
    this.state.set(key, { unreachable: is });
    if (is) {
      this.#events.emit('alert', {
        kind: 'repository-unreachable',
        severity: 'error',
        repository,
        source: null,
        message: `Repository "${repository}" cannot be opened: ${error}`,
        at: new Date(now).toISOString(),
      });
    }
  }
}

/** 3 d 4 h, 5 h 10 min, 42 min. */
export function humanAge(msAge: number): string {
  const min = Math.floor(msAge / 60_000);
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}
