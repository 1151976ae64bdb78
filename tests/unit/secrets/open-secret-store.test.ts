import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSecretStore } from '../../../src/main/core/secrets/open-secret-store.js';
import { MemorySecretStore } from '../../../src/main/core/secrets/memory-store.js';
import type { SecretStore } from '../../../src/main/core/secrets/secret-store.js';
import type { Logger } from '../../../src/main/core/log/logger.js';
import { tempDir } from '../../helpers/tmp.js';

/** An in-memory "keyring" that records which accounts were written and deleted. */
class FakeKeyring implements SecretStore {
  readonly backend = 'keyring (fake)';
  readonly inner = new MemorySecretStore();
  readonly written: string[] = [];
  readonly deleted: string[] = [];
  get(a: string) {
    return this.inner.get(a);
  }
  set(a: string, v: string) {
    this.written.push(a);
    return this.inner.set(a, v);
  }
  delete(a: string) {
    this.deleted.push(a);
    return this.inner.delete(a);
  }
}

const broken = (message: string): SecretStore => ({
  backend: 'keyring (broken)',
  get: () => Promise.reject(new Error(message)),
  set: () => Promise.reject(new Error(message)),
  delete: () => Promise.reject(new Error(message)),
});
const hanging: SecretStore = {
  backend: 'keyring (hanging)',
  get: () => new Promise(() => {}),
  set: () => new Promise(() => {}),
  delete: () => new Promise(() => {}),
};

function recorder(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const noop = () => {};
  const l = { warnings, debug: noop, info: noop, error: noop, warn: (m: string) => void warnings.push(m), forRun: () => l };
  return l;
}

describe('openSecretStore', () => {
  it('auto uses a keyring that passes the probe, and leaves no probe item', async () => {
    const keyring = new FakeKeyring();
    const store = await openSecretStore({ backend: 'auto', file: null }, tempDir(), { openKeyring: async () => keyring });
    expect(store.backend).toBe('keyring (fake)');
    expect(store.fallbackReason).toBeNull();
    await store.set('a', 'b');
    expect(await keyring.get('a')).toBe('b');
    const probe = keyring.written[0] ?? '';
    expect(probe).toMatch(/^probe:/);
    expect(keyring.deleted).toEqual([probe]);
    expect(await keyring.get(probe)).toBeNull();
  });

  it('auto falls back to the file with a one-line reason when the keyring fails', async () => {
    const dataDir = tempDir();
    const logger = recorder();
    const store = await openSecretStore({ backend: 'auto', file: null }, dataDir, { openKeyring: async () => broken('Cannot autolaunch D-Bus\nmore'), logger });
    expect(store.backend).toBe(`file (${join(dataDir, 'secrets.json')})`);
    expect(store.fallbackReason).toBe('OS keyring unavailable (Cannot autolaunch D-Bus); using the secrets file instead');
    expect(logger.warnings).toEqual([store.fallbackReason]);
    await store.set('x', 'y');
    expect(await store.get('x')).toBe('y');
  });

  it('auto falls back when the keyring hangs, within the probe timeout', async () => {
    const t0 = Date.now();
    const store = await openSecretStore({ backend: 'auto', file: join(tempDir(), 'custom.json') }, tempDir(), {
      openKeyring: async () => hanging,
      probeTimeoutMs: 200,
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(store.backend).toMatch(/custom\.json\)$/);
    expect(store.fallbackReason).toMatch(/did not answer within 200 ms/);
  });

  it('keyring: a clear error instead of a fallback', async () => {
    await expect(openSecretStore({ backend: 'keyring', file: null }, tempDir(), { openKeyring: async () => broken('no bus') })).rejects.toThrow(
      /secrets\.backend is "keyring" but the OS keyring is not usable: no bus\. .*secrets\.backend: auto or file/,
    );
  });

  it('file: never touches the keyring', async () => {
    let opened = false;
    const store = await openSecretStore({ backend: 'file', file: null }, tempDir(), {
      openKeyring: async () => {
        opened = true;
        return new FakeKeyring();
      },
    });
    expect(opened).toBe(false);
    expect(store.backend).toMatch(/^file \(/);
    expect(store.fallbackReason).toBeNull();
  });
});
