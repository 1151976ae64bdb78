import { createRequire } from 'node:module';

declare const __AGENT_VERSION__: string | undefined;

/** The agent's own version: injected by the CLI bundle, else read from package.json (one place either way). */
export const AGENT_VERSION: string =
  typeof __AGENT_VERSION__ === 'string' ? __AGENT_VERSION__ : (createRequire(import.meta.url)('../../../../package.json') as { version: string }).version;

declare const __AGENT_COMMIT__: string | undefined;

/** The commit the build was made from (`git rev-parse --short HEAD` at build time), or null when unknown. */
export const AGENT_COMMIT: string | null = typeof __AGENT_COMMIT__ === 'string' ? __AGENT_COMMIT__ : null;

/** This process's platform as `npm run dist` names its binaries and the update feed its artifacts (win-x64…). */
export function currentPlatform(): string {
  return `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
}

/** `0.1.0 (commit 1a2b3c4, linux-x64)`: what `--version` prints. */
export function versionLine(): string {
  return `${AGENT_VERSION} (commit ${AGENT_COMMIT ?? 'unknown'}, ${currentPlatform()})`;
}
