import { createRequire } from 'node:module';

/** The agent's own version, from package.json (one place). */
export const AGENT_VERSION: string = (createRequire(import.meta.url)('../../../../package.json') as { version: string }).version;
