import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '../../../src/main/core/config/load.js';
import { findSecrets, SecretInConfigError, writeConfigFile } from '../../../src/main/core/config/write.js';
import { tempDir } from '../../helpers/tmp.js';

const ctx = { hostname: 'h', homedir: '/home/u', dataDir: '/data' };

describe('loadConfigFile', () => {
  it('loads and normalises a file, returning warnings', async () => {
    const file = join(tempDir(), 'config.yaml');
    await writeFile(file, 'repository: { url: /r, env: { MY_TOKEN: abc } }\n');
    const { config, warnings } = await loadConfigFile(file, ctx);
    expect(config.repositories.default?.url).toBe('/r');
    expect(warnings).toHaveLength(1);
  });

  it('throws ConfigError with every problem and a CLI format', async () => {
    const file = join(tempDir(), 'config.yaml');
    await writeFile(file, 'agent:\n  log_level: loud\n  pol_interval: 5m\n');
    const err = await loadConfigFile(file, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.issues.map((i) => i.path)).toEqual(['agent.log_level', 'agent.pol_interval']);
    const text = ce.format();
    expect(text.split('\n')[0]).toBe(`${file}: 2 problems found`);
    expect(text).toContain('  - agent.log_level (line 2): expected one of');
    expect(text).toContain('  - agent.pol_interval (line 3): unknown key "pol_interval" (did you mean "poll_interval"?)');
  });

  it('lets a missing file fail with ENOENT so callers can offer the first-run setup', async () => {
    await expect(loadConfigFile(join(tempDir(), 'nope.yaml'), ctx)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('writeConfigFile', () => {
  it('writes atomically with mode 0600, creating the parent directory', async () => {
    const dir = tempDir();
    const file = join(dir, 'nested', 'deeper', 'config.yaml');
    await writeConfigFile(file, 'repository: { url: /r, password_file: /p }');
    expect(await readFile(file, 'utf8')).toBe('repository: { url: /r, password_file: /p }\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700);
    // Replacing leaves no temp files behind.
    await writeConfigFile(file, 'pause: { default: 2h }\n');
    expect(await readFile(file, 'utf8')).toBe('pause: { default: 2h }\n');
    expect(await readdir(join(dir, 'nested', 'deeper'))).toEqual(['config.yaml']);
  });

  it('refuses text containing a password or token, and leaves the old file alone', async () => {
    const file = join(tempDir(), 'config.yaml');
    await writeConfigFile(file, 'pause: { default: 2h }\n');
    const cases = [
      'orchestrator: { url: "https://o.example", token: abcdef }',
      'repository: { url: /r, password: hunter2 }',
      'repository: { url: /r, env: { AWS_SECRET_ACCESS_KEY: abc } }',
      'repository: { url: "rest:https://u:pw@h/r" }',
    ];
    for (const text of cases) await expect(writeConfigFile(file, text)).rejects.toBeInstanceOf(SecretInConfigError);
    await expect(
      writeConfigFile(file, 'repository: { url: /r, password_file: /p } # correct-horse', { knownSecrets: ['correct-horse'] }),
    ).rejects.toBeInstanceOf(SecretInConfigError);
    expect(await readFile(file, 'utf8')).toBe('pause: { default: 2h }\n');
  });

  it('refuses an invalid configuration', async () => {
    const file = join(tempDir(), 'config.yaml');
    await expect(writeConfigFile(file, 'agent: { colour: blue }')).rejects.toBeInstanceOf(ConfigError);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('findSecrets ignores references to secrets', () => {
    expect(
      findSecrets('repository: { url: /r, password_file: /p, password_command: "x", password_keyring: acct, secret_env: [AWS_SECRET_ACCESS_KEY] }'),
    ).toEqual([]);
    expect(findSecrets('repositories: { a: { url: /r, env: { RESTIC_REST_PASSWORD: x } } }')).toEqual(['repositories.a.env.RESTIC_REST_PASSWORD']);
  });
});
