import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A real restic binary the integration tests run against. */
export interface ResticBin {
  readonly label: string;
  readonly path: string;
}

const candidates: ReadonlyArray<ResticBin> = [
  { label: 'restic 0.14 (Debian bookworm)', path: '/usr/bin/restic' },
  {
    label: 'restic 0.19 (Debian sid)',
    path: fileURLToPath(new URL('../../vendor/restic-sid/usr/bin/restic', import.meta.url)),
  },
];

/**
 * The restic binaries present on this machine (`scripts/setup.sh` installs both).
 *
 * In CI both must exist: a missing one fails the run instead of silently testing less.
 */
export function resticBins(): ReadonlyArray<ResticBin> {
  const found = candidates.filter((b) => existsSync(b.path));
  if (process.env.CI && found.length !== candidates.length) {
    throw new Error(
      `restic binaries missing: ${candidates
        .filter((b) => !found.includes(b))
        .map((b) => b.path)
        .join(', ')} — run scripts/setup.sh`,
    );
  }
  return found;
}
