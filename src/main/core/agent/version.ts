import { createRequire } from 'node:module';

declare const __AGENT_VERSION__: string | undefined;

/** The agent's own version: injected by the CLI bundle, else read from package.json (one place either way). */
export const AGENT_VERSION: string =
  typeof __AGENT_VERSION__ === 'string' ? __AGENT_VERSION__ : (createRequire(import.meta.url)('../../../../package.json') as { version: string }).version;
