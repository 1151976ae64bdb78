import { describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../../src/shared/model/run.js';
import type { StopReason } from '../../../src/main/core/restic/outcome.js';
import { classifySample } from './replay.js';
import { loadSamples, sample, VERSIONS } from './sample-reader.js';

/** Expected classification of notable samples: [file prefix, stop reason we caused, outcome]. */
const EXPECTED: Readonly<Record<string, ReadonlyArray<[string, StopReason, RunOutcome]>>> = {
  '0.14.0': [
    ['02-', null, 'no-repo'],
    ['03b-', null, 'failed'],
    ['06-', null, 'partial'],
    ['09-', null, 'config-error'],
    ['12b-', null, 'wrong-password'],
    ['28-', null, 'wrong-password'],
    ['29-', null, 'no-repo'],
    ['30b-', null, 'config-error'],
    ['30e-', null, 'config-error'],
    ['31-', null, 'config-error'],
    ['40-', 'cancel', 'cancelled'],
    ['43-', null, 'locked'],
    ['44-', null, 'locked'],
    ['45-', null, 'locked'],
    ['49-', null, 'config-error'],
    ['52-', null, 'killed'],
    ['54-', null, 'locked'],
    ['57-', null, 'killed'],
    ['57-', 'cancel', 'cancelled'],
    ['61-', 'cancel', 'cancelled'],
    ['62-', null, 'locked'],
    ['63-', null, 'locked'],
    ['65-', 'timeout', 'timeout'],
    ['65-', 'stall', 'stalled'],
    ['68-', null, 'success'],
    ['82-', null, 'config-error'],
    ['87-', null, 'config-error'],
  ],
  '0.18.0': [
    ['02-', null, 'no-repo'],
    ['03b-', null, 'failed'],
    ['06-', null, 'partial'],
    ['09-', null, 'config-error'],
    ['12b-', null, 'config-error'],
    ['12d-', null, 'failed'],
    ['27-', null, 'config-error'],
    ['28-', null, 'wrong-password'],
    ['28b-', null, 'wrong-password'],
    ['29-', null, 'no-repo'],
    ['30b-', null, 'config-error'],
    ['30c-', null, 'config-error'],
    ['31-', null, 'config-error'],
    // 0.17/0.18: Ctrl-C of a backup exits 1 with "context canceled".
    ['40-', 'cancel', 'cancelled'],
    ['40-', null, 'failed'],
    ['43-', null, 'locked'],
    ['44-', null, 'locked'],
    ['49-', null, 'locked'],
    ['57-', null, 'killed'],
    ['59-', null, 'locked'],
    ['65-', 'cancel', 'cancelled'],
  ],
  '0.19.1': [
    ['02-', null, 'no-repo'],
    ['03b-', null, 'failed'],
    ['06-', null, 'partial'],
    ['08-', null, 'partial'],
    ['09-', null, 'config-error'],
    ['12d-', null, 'failed'],
    ['28-', null, 'wrong-password'],
    ['29-', null, 'no-repo'],
    ['30c-', null, 'config-error'],
    ['31-', null, 'config-error'],
    ['40-', 'cancel', 'cancelled'],
    ['40-', null, 'cancelled'],
    ['45-', null, 'locked'],
    ['52-', 'cancel', 'cancelled'],
    ['57-', null, 'killed'],
    ['65-', 'cancel', 'cancelled'],
  ],
};

describe.each(VERSIONS)('outcome of restic %s samples', (version) => {
  it.each((EXPECTED[version] ?? []).map(([p, stop, o]) => [p, stop, o] as const))('%s (stop: %s) → %s', (prefix, stop, outcome) => {
    const c = classifySample(sample(version, prefix), stop);
    expect(c.outcome).toBe(outcome);
    expect(c.message.length).toBeGreaterThan(5);
  });

  it('every sample classifies consistently with its exit code', () => {
    for (const s of loadSamples(version)) {
      const c = classifySample(s);
      if (s.code === 0) expect(c.outcome, s.name).toBe('success');
      else if (s.code === 3) expect(c.outcome, s.name).toBe('partial');
      else if (s.code === 10) expect(c.outcome, s.name).toBe('no-repo');
      else if (s.code === 11) expect(c.outcome, s.name).toBe('locked');
      else if (s.code === 12) expect(c.outcome, s.name).toBe('wrong-password');
      else if (s.signal) expect(c.outcome, s.name).toBe('killed');
      else expect(c.outcome, s.name).not.toBe('success');
    }
  });
});

describe('human messages', () => {
  it('names the cause and the exit code', () => {
    expect(classifySample(sample('0.19.1', '28-')).message).toBe('Wrong repository password (restic exit 12)');
    expect(classifySample(sample('0.14.0', '28-')).message).toBe('Wrong repository password (restic exit 1)');
    expect(classifySample(sample('0.14.0', '29-')).message).toBe('Repository not found (restic exit 1)');
    expect(classifySample(sample('0.18.0', '12d-')).message).toContain('command failed: exit status 3');
  });
});
