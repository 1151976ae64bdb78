import { describe, expect, it } from 'vitest';
import { currentPlatformPaths, platformPaths } from '../../../src/main/core/paths.js';

const base = { env: {}, homedir: '/home/ann', uid: 1000 };

describe('platformPaths', () => {
  it('Linux user: XDG defaults under the home directory', () => {
    expect(platformPaths({ ...base, platform: 'linux' })).toEqual({
      configFile: '/home/ann/.config/restic-agent/config.yaml',
      dataDir: '/home/ann/.local/share/restic-agent',
      cacheDir: '/home/ann/.cache/restic-agent',
    });
  });

  it('Linux user: honours XDG_* variables, ignoring relative ones', () => {
    const env = { XDG_CONFIG_HOME: '/x/conf', XDG_DATA_HOME: '/x/data', XDG_CACHE_HOME: 'relative/cache' };
    expect(platformPaths({ ...base, platform: 'linux', env })).toEqual({
      configFile: '/x/conf/restic-agent/config.yaml',
      dataDir: '/x/data/restic-agent',
      cacheDir: '/home/ann/.cache/restic-agent',
    });
  });

  it('Linux root: system locations', () => {
    expect(platformPaths({ ...base, platform: 'linux', uid: 0, homedir: '/root', env: { XDG_CONFIG_HOME: '/root/.config' } })).toEqual({
      configFile: '/etc/restic-agent/config.yaml',
      dataDir: '/var/lib/restic-agent',
      cacheDir: '/var/cache/restic-agent',
    });
  });

  it('macOS: Application Support and Caches', () => {
    expect(platformPaths({ ...base, platform: 'darwin', homedir: '/Users/ann', uid: 501 })).toEqual({
      configFile: '/Users/ann/Library/Application Support/restic-agent/config.yaml',
      dataDir: '/Users/ann/Library/Application Support/restic-agent',
      cacheDir: '/Users/ann/Library/Caches/restic-agent',
    });
  });

  it('Windows: APPDATA for configuration, LOCALAPPDATA for data', () => {
    const env = { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' };
    expect(platformPaths({ platform: 'win32', env, homedir: 'C:\\Users\\ann', uid: null })).toEqual({
      configFile: 'C:\\Users\\ann\\AppData\\Roaming\\restic-agent\\config.yaml',
      dataDir: 'C:\\Users\\ann\\AppData\\Local\\restic-agent',
      cacheDir: 'C:\\Users\\ann\\AppData\\Local\\restic-agent\\cache',
    });
  });

  it('Windows without APPDATA falls back to the profile', () => {
    const p = platformPaths({ platform: 'win32', env: {}, homedir: 'C:\\Users\\ann', uid: null });
    expect(p.configFile).toBe('C:\\Users\\ann\\AppData\\Roaming\\restic-agent\\config.yaml');
  });

  it('RESTIC_AGENT_CONFIG and RESTIC_AGENT_DATA_DIR override on every platform', () => {
    const env = { RESTIC_AGENT_CONFIG: '/opt/agent.yaml', RESTIC_AGENT_DATA_DIR: '/opt/agent-data' };
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const p = platformPaths({ ...base, platform, env });
      expect(p.configFile).toBe('/opt/agent.yaml');
      expect(p.dataDir).toBe('/opt/agent-data');
    }
    const root = platformPaths({ ...base, platform: 'linux', uid: 0, env });
    expect(root.configFile).toBe('/opt/agent.yaml');
  });

  it('currentPlatformPaths reads this process', () => {
    const p = currentPlatformPaths();
    expect(p.configFile).toMatch(/config\.yaml$/);
    expect(p.dataDir.length).toBeGreaterThan(0);
  });
});
