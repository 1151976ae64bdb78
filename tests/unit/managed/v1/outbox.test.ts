import { describe, expect, it } from 'vitest';
import { openStateDb } from '../../../../src/main/core/state/db.js';
import { Outbox, orchestratorMigrations } from '../../../../src/main/core/managed/v1/outbox.js';
import { LogSpool } from '../../../../src/main/core/managed/v1/log-spool.js';

function fresh() {
  return new Outbox(openStateDb(':memory:', orchestratorMigrations));
}

const row = (lease: string) => ({
  lease_id: lease,
  task_id: `tsk_${lease}`,
  attempt: 1,
  type: 'backup',
  state: 'claimed',
  claim_acked: 0,
  status_seq: 1,
  log_seq: 0,
  claimed_at: null,
  cancel_grace_s: 60,
  params_json: '{}',
});

describe('Outbox', () => {
  it('keeps an unacked claim out of the generic drain and removes it on ack', () => {
    const o = fresh();
    o.recordOffer(row('L1'), { status_seq: 1, state: 'claimed' });
    expect(o.pendingStatuses()).toHaveLength(0);
    expect(o.journal('L1')?.claim_acked).toBe(0);
    o.claimAcked('L1');
    expect(o.journal('L1')?.claim_acked).toBe(1);
    expect(o.pendingStatuses()).toHaveLength(0);
  });

  it('replaces an unsent non-terminal snapshot but never a terminal one; drains terminal first', () => {
    const o = fresh();
    o.recordOffer(row('A'), { status_seq: 1, state: 'claimed' });
    o.claimAcked('A');
    o.recordOffer(row('B'), { status_seq: 1, state: 'claimed' });
    o.claimAcked('B');
    o.putStatus('A', 'tsk_A', { status_seq: 2, state: 'running' });
    o.putStatus('A', 'tsk_A', { status_seq: 3, state: 'running' });
    o.putStatus('B', 'tsk_B', { status_seq: 2, state: 'succeeded' });
    o.putStatus('B', 'tsk_B', { status_seq: 3, state: 'running' }); // must not replace the terminal
    const rows = o.pendingStatuses();
    expect(rows.map((r) => [r.lease_id, r.status_seq, r.state])).toEqual([
      ['B', 2, 'succeeded'],
      ['A', 3, 'running'],
    ]);
  });

  it('deletes on ack only if no newer snapshot replaced the sent one', () => {
    const o = fresh();
    o.recordOffer(row('A'), { status_seq: 1, state: 'claimed' });
    o.claimAcked('A');
    o.putStatus('A', 'tsk_A', { status_seq: 2, state: 'running' });
    o.putStatus('A', 'tsk_A', { status_seq: 3, state: 'running' });
    o.ackStatus('A', 2);
    expect(o.pendingStatuses().map((r) => r.status_seq)).toEqual([3]);
    o.ackStatus('A', 3);
    expect(o.pendingStatuses()).toHaveLength(0);
  });

  it('assigns contiguous log seqs at admission, acks, and rewinds on log_gap', () => {
    const o = fresh();
    const s = { kind: 'task' as const, task_id: 't', lease_id: 'L' };
    const e = (msg: string) => ({ ts: 'x', mono_ms: 0, src: 'agent', level: 'info', msg });
    expect(o.appendLogs('L', s, [e('a'), e('b'), e('c')])).toBe(3);
    expect(o.appendLogs('L', s, [e('d')])).toBe(4);
    expect(o.logBatch('L', 2, 1e6).map((x) => x.seq)).toEqual([1, 2]);
    o.ackLogs('L', 2);
    expect(o.logBatch('L', 10, 1e6).map((x) => x.seq)).toEqual([3, 4]);
    // Server says it only has up to 2 (we never deleted 3): resend from 3.
    expect(o.rewindLogs('L', 3).ok).toBe(true);
    expect(o.logBatch('L', 10, 1e6).map((x) => x.seq)).toEqual([3, 4]);
    // The server wants 1, which is gone: cannot fill the gap.
    expect(o.rewindLogs('L', 1).ok).toBe(false);
    o.ackLogs('L', 4);
    expect(o.pendingStreams()).toHaveLength(0);
    expect(o.logBytes).toBe(0);
  });

  it('drops a lease completely (404 task_not_found)', () => {
    const o = fresh();
    o.recordOffer(row('A'), { status_seq: 1, state: 'claimed' });
    o.claimAcked('A');
    o.putStatus('A', 'tsk_A', { status_seq: 2, state: 'running' });
    o.appendLogs('A', { kind: 'task', task_id: 'tsk_A', lease_id: 'A' }, [{ ts: 'x', mono_ms: 0, src: 'a', level: 'info', msg: 'm' }]);
    o.dropLease('A', true);
    expect(o.pendingStatuses()).toHaveLength(0);
    expect(o.pendingStreams()).toHaveLength(0);
    expect(o.journal('A')?.state).toBe('dropped');
  });
});

describe('LogSpool admission', () => {
  it('throttles info lines over budget, always admits warnings, then emits one gap marker and the ring', () => {
    const o = fresh();
    let budget = 1_000_000;
    const spool = new LogSpool(o, () => budget);
    const s = { kind: 'task' as const, task_id: 't', lease_id: 'L' };
    spool.add('L', s, { level: 'info', src: 'restic.stderr', msg: 'first' });
    expect(spool.flush('L')).toBe(1);
    budget = 0;
    for (let i = 0; i < 1500; i++) spool.add('L', s, { level: 'info', src: 'restic.stderr', msg: `line ${i}` });
    spool.add('L', s, { level: 'error', src: 'restic.stderr', msg: 'fatal thing' });
    expect(spool.flush('L')).toBe(2); // only the error got in
    expect(spool.dropped('L')).toBe(1500);
    budget = 1_000_000;
    spool.add('L', s, { level: 'info', src: 'agent', msg: 'after' });
    const last = spool.flush('L');
    const all = o.logBatch('L', 10_000, 1e9);
    expect(all.map((x) => x.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const marker = all.find((x) => x.gap);
    expect(marker?.gap?.dropped).toBe(500);
    expect(all.filter((x) => x.msg.startsWith('line '))).toHaveLength(1000);
    expect(all.at(-1)?.msg).toBe('after');
  });

  it('redacts registered secrets before spooling', async () => {
    const { registerSecret } = await import('../../../../src/main/core/log/redact.js');
    registerSecret('hunter2-super-secret');
    const o = fresh();
    const spool = new LogSpool(o, () => 1e9);
    spool.add('L', { kind: 'task', task_id: 't', lease_id: 'L' }, { level: 'warn', src: 'restic.stderr', msg: 'pw hunter2-super-secret leaked' });
    spool.flush();
    expect(JSON.stringify(o.logBatch('L', 10, 1e9))).not.toContain('hunter2-super-secret');
  });
});
