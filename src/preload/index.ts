/**
 * Preload of the main window (sandboxed, bundled to one CommonJS file by `vite.preload.config.ts`).
 *
 * Exposes exactly one object, `window.agent`; nothing of Electron reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createAgentBridge } from './agent-bridge.js';

contextBridge.exposeInMainWorld('agent', createAgentBridge(ipcRenderer));
