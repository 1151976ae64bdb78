import { describe, expect, it } from 'vitest';
import { LogTail, RM_LOG_LIMIT_BYTES, truncateLogTail } from '../../../../src/main/core/managed/restic-monitor/log-tail.js';

describe('log tail', () => {
  it('leaves a small log untouched', () => {
    const t = new LogTail();
    t.push('a');
    t.push('b');
    expect(t.text()).toBe('a\nb');
  });

  it('keeps the END of a long log under the limit, with a marker', () => {
    const t = new LogTail(1000);
    for (let i = 0; i < 500; i++) t.push(`line ${i}`);
    const out = t.text();
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(1000);
    expect(out.endsWith('line 499')).toBe(true);
    expect(out.split('\n')[0]).toMatch(/^\[restic-agent: \d+ earlier line\(s\), \d+ bytes, truncated/);
    expect(out).not.toContain('\nline 0\n');
  });

  it('cuts a single huge line on a UTF-8 boundary, keeping its tail', () => {
    const out = truncateLogTail('é'.repeat(5000) + 'END', 2000);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(2000);
    expect(out.endsWith('END')).toBe(true);
    expect(out).not.toContain('\uFFFD');
  });

  it('default limit stays under the server 1 MiB chunk', () => {
    expect(RM_LOG_LIMIT_BYTES).toBeLessThan(1024 * 1024);
    const out = truncateLogTail('x'.repeat(100) + '\n' + 'y'.repeat(3 * 1024 * 1024));
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(RM_LOG_LIMIT_BYTES);
  });
});
