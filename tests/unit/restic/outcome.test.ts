import { describe, expect, it } from 'vitest';
import { classify, type ExitInfo } from '../../../src/main/core/restic/outcome.js';

const base: ExitInfo = { code: 0, signal: null, stderr: '', exitError: null, stopReason: null };
const c = (o: Partial<ExitInfo>) => classify({ ...base, ...o }).outcome;

describe('classify (exit code first, then stderr, then exit_error)', () => {
  it.each([
    [0, 'success'],
    [1, 'failed'],
    [2, 'crash'],
    [3, 'partial'],
    [10, 'no-repo'],
    [11, 'locked'],
    [12, 'wrong-password'],
    [130, 'cancelled'],
    [42, 'failed'],
  ] as const)('exit %i → %s', (code, outcome) => {
    expect(c({ code })).toBe(outcome);
  });

  it('signals: killed unless we stopped it', () => {
    expect(c({ code: null, signal: 'SIGKILL' })).toBe('killed');
    expect(c({ code: null, signal: 'SIGKILL', stopReason: 'cancel' })).toBe('cancelled');
    expect(c({ code: null, signal: 'SIGKILL', stopReason: 'timeout' })).toBe('timeout');
    expect(c({ code: null, signal: 'SIGKILL', stopReason: 'stall' })).toBe('stalled');
  });

  it('a run that finished before our stop took effect keeps its result', () => {
    expect(c({ code: 0, stopReason: 'cancel' })).toBe('success');
    expect(c({ code: 3, stopReason: 'timeout' })).toBe('partial');
  });

  it('exit 1 falls back to stderr patterns (restic ≤0.16)', () => {
    expect(
      c({ code: 1, stderr: 'Fatal: unable to open config file: stat /r/config: no such file or directory\nIs there a repository at the following location?' }),
    ).toBe('no-repo');
    expect(c({ code: 1, stderr: 'unable to create lock in backend: repository is already locked exclusively by PID 1' })).toBe('locked');
    expect(c({ code: 1, stderr: 'Fatal: wrong password or no key found' })).toBe('wrong-password');
    expect(c({ code: 1, stderr: 'unknown flag: --retry-lock' })).toBe('config-error');
  });

  it('exit 1 "context canceled" is cancelled only when we sent the signal', () => {
    const exitError = { code: 1, message: 'Fatal: unable to save snapshot: context canceled' };
    expect(c({ code: 1, exitError, stopReason: 'cancel' })).toBe('cancelled');
    expect(c({ code: 1, exitError })).toBe('failed');
  });

  it('exit 130 after a lost lock is a failure, not a user interrupt', () => {
    expect(c({ code: 130, stderr: 'Fatal: failed to refresh lock in time' })).toBe('failed');
  });

  it('exit_error text is used when stderr has no text', () => {
    expect(c({ code: 1, exitError: { code: 1, message: 'Fatal: wrong password or no key found' } })).toBe('wrong-password');
  });

  it('spawn failures are configuration errors', () => {
    const r = classify({ ...base, code: null, spawnError: '"/nope/restic" not found' });
    expect(r).toEqual({ outcome: 'config-error', message: 'Could not start restic: "/nope/restic" not found' });
  });
});
