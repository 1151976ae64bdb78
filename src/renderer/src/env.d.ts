/// <reference types="vite/client" />
import type { AgentBridge } from '../../shared/ipc/bridge.js';

declare global {
  interface Window {
    /** Exposed by the preload (`src/preload/index.ts`); read only in `api.ts`. */
    readonly agent?: AgentBridge;
  }
}
