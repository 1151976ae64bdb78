import { describe, expect, it } from 'vitest';
import { diskUsage } from '../../../src/main/core/managed/disk-usage.js';

describe('diskUsage (both dialects’ heartbeats)', () => {
  it('reports integer byte counts once per path and skips missing paths', async () => {
    const d = await diskUsage(['/', '/', '/definitely/not/here']);
    expect(d).toHaveLength(1);
    expect(d[0]?.path).toBe('/');
    expect(Number.isInteger(d[0]?.freeBytes) && Number.isInteger(d[0]?.totalBytes)).toBe(true);
    expect(d[0]!.freeBytes).toBeLessThanOrEqual(d[0]!.totalBytes);
  });
});
