import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDemoSetup, DEMO_PASSWORD_ACCOUNT, generatePassword } from '../../../src/main/core/config/demo.js';
import { loadConfigFile, validateConfigText } from '../../../src/main/core/config/load.js';
import { redact } from '../../../src/main/core/log/redact.js';
import { MemorySecretStore } from '../../../src/main/core/secrets/memory-store.js';
import { tempDir } from '../../helpers/tmp.js';
import { NO_HOOKS } from '../../../src/main/core/config/normalise.js';

describe('generatePassword', () => {
  it('is long, varied and unique', () => {
    const a = generatePassword();
    const b = generatePassword();
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(a).not.toBe(b);
    expect(new Set(a).size).toBeGreaterThan(15);
    expect(a).toMatch(/^[A-Za-z0-9]+$/);
    expect(() => generatePassword(16)).toThrow(RangeError);
  });
});

describe('createDemoSetup', () => {
  it('creates the demo folder, stores the password and returns a valid config without it', async () => {
    const dataDir = tempDir();
    const secrets = new MemorySecretStore();
    const configPath = join(dataDir, 'config', 'config.yaml');
    const result = await createDemoSetup(dataDir, secrets, { configPath });

    const password = await secrets.get(DEMO_PASSWORD_ACCOUNT);
    expect(password?.length).toBeGreaterThanOrEqual(32);
    expect(result.yaml).not.toContain(password);
    expect(redact(`pw=${password ?? ''}`)).not.toContain(password);

    expect(result.configPath).toBe(configPath);
    expect(await readFile(configPath, 'utf8')).toBe(result.yaml.endsWith('\n') ? result.yaml : `${result.yaml}\n`);
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);

    const { config } = await loadConfigFile(configPath, { hostname: 'h', homedir: '/h', dataDir });
    expect(config.repositories.default).toMatchObject({ url: join(dataDir, 'repository'), password: { kind: 'keyring', account: DEMO_PASSWORD_ACCOUNT } });
    expect(config.sources).toEqual([
      { path: join(dataDir, 'demo-source'), policy: 'hourly', repository: 'default', exclude: [], tags: [], plugin: null, hooks: NO_HOOKS },
    ]);
    expect((await readdir(join(dataDir, 'demo-source'))).sort()).toEqual(['README.txt', 'data', 'notes']);
  });

  it('keeps an existing password and existing files; returns YAML only without configPath', async () => {
    const dataDir = tempDir();
    const secrets = new MemorySecretStore({ [DEMO_PASSWORD_ACCOUNT]: 'existing-password-0123456789-abcdef' });
    await createDemoSetup(dataDir, secrets);
    const readme = join(dataDir, 'demo-source', 'README.txt');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(readme, 'edited');
    const again = await createDemoSetup(dataDir, secrets);
    expect(again.configPath).toBeUndefined();
    expect(await secrets.get(DEMO_PASSWORD_ACCOUNT)).toBe('existing-password-0123456789-abcdef');
    expect(await readFile(readme, 'utf8')).toBe('edited');
    expect(validateConfigText(again.yaml, 'demo', { hostname: 'h', homedir: '/h', dataDir }).ok).toBe(true);
  });
});
