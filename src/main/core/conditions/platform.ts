import { freeBytes } from './free-space.js';
import { linuxIsMetered, linuxOnAcPower, SYSFS_POWER_SUPPLY } from './linux.js';
import { macOnAcPower } from './macos.js';
import type { PlatformProbes } from './probes.js';
import { type CommandRunner, defaultCommandRunner } from './run-command.js';
import { windowsIsMetered, windowsOnAcPower } from './windows.js';

export interface PlatformProbeOptions {
  readonly platform?: NodeJS.Platform;
  readonly run?: CommandRunner;
  /** Linux only: where power supplies are listed (tests point it at a fixture tree). */
  readonly sysfsPowerSupply?: string;
}

/** The real probes for this (or the given) OS; anything unsupported answers `null` (unknown). */
export function createPlatformProbes(options: PlatformProbeOptions = {}): PlatformProbes {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? defaultCommandRunner;
  const unknown = (): Promise<null> => Promise.resolve(null);
  switch (platform) {
    case 'linux':
      return {
        onAcPower: () => linuxOnAcPower(options.sysfsPowerSupply ?? SYSFS_POWER_SUPPLY),
        isMetered: () => linuxIsMetered(run),
        freeBytes,
      };
    case 'darwin':
      return { onAcPower: () => macOnAcPower(run), isMetered: unknown, freeBytes };
    case 'win32':
      return { onAcPower: () => windowsOnAcPower(run), isMetered: () => windowsIsMetered(run), freeBytes };
    default:
      return { onAcPower: unknown, isMetered: unknown, freeBytes };
  }
}
