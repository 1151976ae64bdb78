/**
 * What the platform can tell about power, network cost and disk space.
 *
 * Every answer may be `null` = unknown (no battery interface, no NetworkManager, a command that timed out):
 * unknown never blocks a backup, because a probe that cannot answer must not silently stop all backups.
 */
export interface PlatformProbes {
  /** true on mains power (or a machine without a battery), false on battery. */
  onAcPower(): Promise<boolean | null>;
  /** true when the active connection is metered (mobile hotspot, tethering, marked metered). */
  isMetered(): Promise<boolean | null>;
  /** Free bytes available to this user on the file system holding `path`. */
  freeBytes(path: string): Promise<number | null>;
}

/** Probes that know nothing (every condition passes). */
export const unknownProbes: PlatformProbes = {
  onAcPower: () => Promise.resolve(null),
  isMetered: () => Promise.resolve(null),
  freeBytes: () => Promise.resolve(null),
};
