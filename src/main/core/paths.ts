import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/** Where the agent keeps its configuration, state and cache by default on this platform. */
export interface PlatformPaths {
  /** The YAML configuration file. */
  readonly configFile: string;
  /** State database, secrets file (file backend), demo data. */
  readonly dataDir: string;
  /** Disposable data (restic cache when none is configured, temporary files). */
  readonly cacheDir: string;
}

/** Everything `platformPaths` depends on, so it stays a pure function. */
export interface PathInputs {
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
  /** `process.getuid()` where it exists; null on Windows. */
  readonly uid: number | null;
}

const APP = 'restic-agent';
const CONFIG_NAME = 'config.yaml';

/**
 * The platform's default paths for the agent.
 *
 * Linux/BSD: XDG (`$XDG_CONFIG_HOME`, `$XDG_DATA_HOME`, `$XDG_CACHE_HOME`, falling back to `~/.config` …), or
 * `/etc`, `/var/lib`, `/var/cache` when running as root. macOS: `~/Library/Application Support` and
 * `~/Library/Caches`. Windows: `%APPDATA%` for the configuration, `%LOCALAPPDATA%` for data and cache.
 * `RESTIC_AGENT_CONFIG` (a file) and `RESTIC_AGENT_DATA_DIR` override the configuration file and data dir.
 */
export function platformPaths(input: PathInputs): PlatformPaths {
  const base = basePaths(input);
  const env = input.env;
  return {
    configFile: nonEmpty(env.RESTIC_AGENT_CONFIG) ?? base.configFile,
    dataDir: nonEmpty(env.RESTIC_AGENT_DATA_DIR) ?? base.dataDir,
    cacheDir: base.cacheDir,
  };
}

/** `platformPaths` for the current process. */
export function currentPlatformPaths(): PlatformPaths {
  return platformPaths(currentInputs());
}

function currentInputs(): PathInputs {
  return { platform: process.platform, env: process.env, homedir: homedir(), uid: typeof process.getuid === 'function' ? process.getuid() : null };
}

/**
 * The data dir (state DB, secrets file) for a config file, unless the file sets `agent.data_dir`:
 * `RESTIC_AGENT_DATA_DIR`, else the platform's data dir for the platform's default config file, else
 * `<config dir>/<config name>-data` — so `--config other.yaml` never shares state and secrets with the service.
 */
export function dataDirFor(configPath: string, input: PathInputs = currentInputs()): string {
  const explicit = nonEmpty(input.env.RESTIC_AGENT_DATA_DIR);
  if (explicit) return explicit;
  const base = basePaths(input);
  const p = input.platform === 'win32' ? win32 : posix;
  const file = p.resolve(configPath);
  if (file === p.resolve(base.configFile)) return base.dataDir;
  return p.join(p.dirname(file), `${p.basename(file, p.extname(file))}-data`);
}

function basePaths({ platform, env, homedir: home, uid }: PathInputs): PlatformPaths {
  if (platform === 'win32') {
    const p = win32;
    const roaming = nonEmpty(env.APPDATA) ?? p.join(home, 'AppData', 'Roaming');
    const local = nonEmpty(env.LOCALAPPDATA) ?? p.join(home, 'AppData', 'Local');
    return {
      configFile: p.join(roaming, APP, CONFIG_NAME),
      dataDir: p.join(local, APP),
      cacheDir: p.join(local, APP, 'cache'),
    };
  }
  const p = posix;
  if (platform === 'darwin') {
    const support = p.join(home, 'Library', 'Application Support', APP);
    return { configFile: p.join(support, CONFIG_NAME), dataDir: support, cacheDir: p.join(home, 'Library', 'Caches', APP) };
  }
  if (uid === 0) {
    // A system service: the FHS locations, not root's home directory.
    return {
      configFile: p.join('/etc', APP, CONFIG_NAME),
      dataDir: p.join('/var/lib', APP),
      cacheDir: p.join('/var/cache', APP),
    };
  }
  // XDG: a relative value is invalid per the spec and is ignored.
  const xdg = (name: string, fallback: string): string => {
    const v = nonEmpty(env[name]);
    return v && p.isAbsolute(v) ? v : p.join(home, fallback);
  };
  return {
    configFile: p.join(xdg('XDG_CONFIG_HOME', '.config'), APP, CONFIG_NAME),
    dataDir: p.join(xdg('XDG_DATA_HOME', '.local/share'), APP),
    cacheDir: p.join(xdg('XDG_CACHE_HOME', '.cache'), APP),
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v && v.trim() !== '' ? v : undefined;
}
