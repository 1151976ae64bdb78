import type { SecretStore } from '../../src/main/core/secrets/secret-store.js';

/** A SecretStore in memory (tests of the restic-monitor dialect only). */
export function memorySecrets(init: Record<string, string> = {}): SecretStore {
  const m = new Map(Object.entries(init));
  return {
    backend: 'memory',
    get: (a) => Promise.resolve(m.get(a) ?? null),
    set: (a, v) => Promise.resolve(void m.set(a, v)),
    delete: (a) => Promise.resolve(m.delete(a)),
  };
}
