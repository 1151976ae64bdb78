import type { PlatformProbes } from '../../src/main/core/conditions/probes.js';

/** Settable probes for tests. */
export class FakeProbes implements PlatformProbes {
  ac: boolean | null = true;
  metered: boolean | null = false;
  free: number | null = null;
  calls = 0;

  constructor(init: Partial<Pick<FakeProbes, 'ac' | 'metered' | 'free'>> = {}) {
    Object.assign(this, init);
  }

  onAcPower(): Promise<boolean | null> {
    this.calls++;
    return Promise.resolve(this.ac);
  }

  isMetered(): Promise<boolean | null> {
    this.calls++;
    return Promise.resolve(this.metered);
  }

  freeBytes(_path: string): Promise<number | null> {
    this.calls++;
    return Promise.resolve(this.free);
  }
}
