import type { Logger } from '../../log/logger.js';
import { backoffDelay, OUTBOX_BACKOFF } from '../backoff.js';
import { RmHttpError, type RmApiClient } from './api.js';
import type { RmConnection } from './connection.js';
import type { RmStore } from './store.js';

/**
 * Sends due results from the durable outbox, oldest first; stops at the first failure (the server is probably
 * down) and defers the row. A result is never dropped: a 400 (our body is wrong) is retried rarely.
 */
export async function drainResults(api: RmApiClient, store: RmStore, conn: RmConnection, log: Logger, stopped: () => boolean): Promise<void> {
  for (const row of store.outboxDue(Date.now())) {
    if (stopped()) return;
    const id = await conn.ensureAgentId();
    if (!id) return;
    try {
      // Every task that reached the agent is acked before its result, whatever happened to it locally.
      if (store.task(row.taskId)?.acked === false) {
        await api.ack(id, row.taskId).catch((e: unknown) => {
          if (!(e instanceof RmHttpError && e.status === 404)) throw e;
        });
        store.markAcked(row.taskId);
      }
      await api.submitResult(id, row.body);
      store.delivered(row.id, row.taskId, row.attempt);
      conn.ok();
      log.info('restic-monitor: result delivered', { taskId: row.taskId, status: row.body.status });
    } catch (e) {
      const err = e as Error;
      if (e instanceof RmHttpError && e.agentNotFound) {
        conn.forget(id);
        store.defer(row.id, Date.now(), err.message); // the server does not check task ownership: resend under the new id
        return;
      }
      const permanent = e instanceof RmHttpError && e.status !== null && !e.transient;
      store.defer(row.id, Date.now() + (permanent ? 300_000 : backoffDelay(OUTBOX_BACKOFF, row.sends)), err.message);
      conn.fail('task-results', e);
      return;
    }
  }
}
