import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { KEYRING_SERVICE, KeytarSecretStore } from '../../../src/main/core/secrets/keytar-store.js';
import { openSecretStore } from '../../../src/main/core/secrets/open-secret-store.js';
import { tempDir } from '../../helpers/tmp.js';

// Set by scripts/with-keyring.sh, which runs the tests on a private D-Bus with an unlocked gnome-keyring.
const haveSecretService = Boolean(process.env.SECRET_SERVICE_TEST);
const child = fileURLToPath(new URL('./open-store.child.ts', import.meta.url));

/** Runs the child with a given environment; returns its JSON verdict. */
async function openInChild(backend: string, env: Record<string, string | undefined>): Promise<Record<string, unknown>> {
  const dataDir = tempDir();
  const r = await execa(process.execPath, ['--import', 'tsx', child, backend, dataDir], {
    env,
    extendEnv: false,
    timeout: 45_000,
    reject: false,
  });
  if (!r.stdout) throw new Error(`child produced no output (exit ${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function baseEnv(): Record<string, string | undefined> {
  const { PATH, HOME, TMPDIR, XDG_DATA_HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_CACHE_HOME } = process.env;
  return { PATH, HOME, TMPDIR, XDG_DATA_HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_CACHE_HOME };
}

describe('keyring tests are not silently skipped in CI', () => {
  it.runIf(process.env.CI)('SECRET_SERVICE_TEST is set (run under sh scripts/with-keyring.sh)', () => {
    expect(haveSecretService, 'CI must run the keyring tests inside scripts/with-keyring.sh (needs dbus and gnome-keyring)').toBe(true);
  });
});

describe.skipIf(!haveSecretService)('real Secret Service (gnome-keyring on a private bus)', () => {
  it('keytar stores, reads and deletes a secret', async () => {
    const store = await KeytarSecretStore.open();
    expect(store.backend).toBe('keyring (Secret Service)');
    const account = `test:${randomBytes(4).toString('hex')}`;
    expect(await store.get(account)).toBeNull();
    await store.set(account, 'p@ss wörd ✓');
    expect(await store.get(account)).toBe('p@ss wörd ✓');
    await store.set(account, 'second');
    expect(await store.get(account)).toBe('second');
    expect(await store.delete(account)).toBe(true);
    expect(await store.delete(account)).toBe(false);
    expect(await store.get(account)).toBeNull();
  });

  it.skipIf(!existsSync('/usr/bin/secret-tool'))('items land in the Secret Service under our service name', async () => {
    const store = await KeytarSecretStore.open();
    const account = `test:${randomBytes(4).toString('hex')}`;
    await store.set(account, 'visible-to-secret-tool');
    try {
      const r = await execa('secret-tool', ['lookup', 'service', KEYRING_SERVICE, 'account', account]);
      expect(r.stdout).toBe('visible-to-secret-tool');
    } finally {
      await store.delete(account);
    }
  });

  it('auto selects the keyring here', async () => {
    const store = await openSecretStore({ backend: 'auto', file: null }, tempDir());
    expect(store.backend).toBe('keyring (Secret Service)');
    expect(store.fallbackReason).toBeNull();
  });

  it('auto in a child on the same bus also selects the keyring', async () => {
    const out = await openInChild('auto', { ...baseEnv(), DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS });
    expect(out).toEqual({ ok: true, backend: 'keyring (Secret Service)', fallbackReason: null, back: 'value-from-child' });
  });
});

describe.runIf(process.platform === 'linux')('no D-Bus session reachable', () => {
  const noBus = () => ({ ...baseEnv(), DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tempDir(), 'no-such-bus')}` });

  it('auto falls back to the secrets file with a one-line reason', async () => {
    const out = await openInChild('auto', noBus());
    expect(out.ok).toBe(true);
    expect(out.backend).toMatch(/^file \(.*secrets\.json\)$/);
    expect(out.fallbackReason).toMatch(/^OS keyring unavailable \(.+\); using the secrets file instead$/);
    expect(String(out.fallbackReason)).not.toContain('\n');
    expect(out.back).toBe('value-from-child');
  });

  it('keyring refuses with a clear error', async () => {
    const out = await openInChild('keyring', noBus());
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/secrets\.backend is "keyring" but the OS keyring is not usable/);
  });
});
