export { type Clock, systemClock, type TimerHandle } from '../time/clock.js';
export type { Job, JobRunner, SchedulerEvents } from './events.js';
export { jobsFromConfig, type JobDef, type SchedulerConfig } from './job-defs.js';
export { jitterOffsetMs, nextOccurrence, previousOccurrence, validateSchedule } from './next-run.js';
export { EXCLUSIVE_KINDS, QueueCancelledError, type QueueEntry, RepoQueue } from './repo-queue.js';
export { classifyOutcome, looksLikeTransport, retryDelayMs } from './retry.js';
export { type ScheduleStatus } from './schedule-status.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { type NewestSnapshotReader, type SourceFreshness, StalenessWatchdog, type WatchedSource } from './staleness.js';
