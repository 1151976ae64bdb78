// Test harness: serves the built renderer on 127.0.0.1, drives Debian's Chromium with playwright-core, and installs
// a test bridge as window.agent that goes through the SAME main-side code as the app: `dispatch()` (trusted
// sender + zod + IpcResult) for calls, and `RendererBridge` (batched, queued until ready) for events.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dispatch } from '../../src/main/ipc/ipc-main.js';
import { RendererBridge, type EventSource } from '../../src/main/ipc/renderer-bridge.js';
import { TrustedSenders } from '../../src/main/ipc/trusted-senders.js';
import type { AgentApi } from '../../src/shared/agent-api.js';
import { API_METHODS, type ApiMethod, EVENT_CHANNELS } from '../../src/shared/ipc/channels.js';

/** What the tests reach in the page (the page's window, seen through `globalThis`). */
export interface PageGlobals {
  __agentEmit(event: string, payload: unknown): void;
  __frames: number[];
  __long: number[];
  requestAnimationFrame(cb: (t: number) => void): number;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

/** Serves a folder on 127.0.0.1 (port chosen by the OS). */
export async function serve(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      return void res.end('not found');
    }
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${addr.port}/`, server };
}

/** Launches Debian's Chromium headless (toolchain.md §7). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}

/** The in-page half of the test bridge: the same shape as the preload's `window.agent`. Runs in the page. */
function installPageBridge(methods: ReadonlyArray<string>): void {
  type Listener = (payload: unknown) => void;
  // `globalThis` is the page's window here (this project type-checks tests without the DOM lib).
  const w = globalThis as unknown as Record<string, unknown> & {
    __agentCall(m: string, a: unknown[]): Promise<{ ok: boolean; value?: unknown; error?: { name: string; message: string; code: string } }>;
    __agentReady(): void;
  };
  const listeners: Record<string, Set<Listener>> = { status: new Set(), 'run-progress': new Set(), 'run-finished': new Set(), logs: new Set() };
  const bridge: Record<string, unknown> = {};
  for (const m of methods) {
    bridge[m] = async (...args: unknown[]) => {
      const r = await w.__agentCall(m, args);
      if (r.ok) return r.value;
      const e = new Error(r.error?.message ?? 'failed');
      Object.assign(e, { code: r.error?.code });
      throw e;
    };
  }
  const on = (event: string) => (l: Listener) => {
    listeners[event]?.add(l);
    return () => listeners[event]?.delete(l);
  };
  bridge.onStatus = on('status');
  bridge.onRunProgress = on('run-progress');
  bridge.onRunFinished = on('run-finished');
  bridge.onLogs = on('logs');
  bridge.ready = () => w.__agentReady();
  w.__agentEmit = (event: string, payload: unknown) => listeners[event]?.forEach((l) => l(payload));
  Object.defineProperty(globalThis, 'agent', { value: Object.freeze(bridge) });
}

/** Connects a page to an agent (real core or fake) through the main-side IPC code. */
export async function connectPage(page: Page, api: AgentApi & EventSource): Promise<{ bridge: RendererBridge; calls: string[] }> {
  const sender = { id: 1, once: () => undefined };
  const trusted = new TrustedSenders(() => true);
  trusted.add(sender);
  const calls: string[] = [];
  const bridge = new RendererBridge(api, { batchMs: 50 });
  await page.exposeFunction('__agentCall', (method: string, args: unknown[]) => {
    calls.push(method);
    if (!(API_METHODS as ReadonlyArray<string>).includes(method)) return { ok: false, error: { name: 'Error', message: 'no such method', code: 'invalid' } };
    return dispatch(api, trusted, method as ApiMethod, { sender, senderFrame: { url: 'app://index.html' } }, args);
  });
  await page.exposeFunction('__agentReady', () => bridge.markReady(1));
  bridge.attach({
    id: 1,
    isDestroyed: () => page.isClosed(),
    send: (channel, payload) => {
      const event = Object.entries(EVENT_CHANNELS).find(([, c]) => c === channel)?.[0] ?? channel;
      void page.evaluate(([e, p]) => (globalThis as unknown as PageGlobals).__agentEmit(e, p), [event, payload] as const).catch(() => {});
    },
  });
  await page.addInitScript(installPageBridge, API_METHODS);
  return { bridge, calls };
}
