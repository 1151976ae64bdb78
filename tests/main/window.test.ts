import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { createMainWindow, mainWindowOptions } from '../../src/main/windows/main-window.js';
import { CONTENT_SECURITY_POLICY, guardNavigation, hardenSession, type GuardedContents, type HardenedSession } from '../../src/main/windows/security.js';
import { urlUnder } from '../../src/main/ipc/trusted-senders.js';

const APP = 'file:///opt/app/resources/app.asar/dist/renderer/index.html';
const isAppUrl = urlUnder(APP);

describe('window hardening', () => {
  it('webPreferences: context isolation, sandbox, no node, web security on, preload set', () => {
    const prefs = mainWindowOptions('/p/index.cjs').webPreferences ?? {};
    expect(prefs).toMatchObject({
      preload: '/p/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(mainWindowOptions('/p').show).toBe(false);
  });

  it('app URL check accepts only pages of the app folder', () => {
    expect(isAppUrl(APP)).toBe(true);
    expect(isAppUrl('file:///opt/app/resources/app.asar/dist/renderer/index.html#/logs')).toBe(true);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(isAppUrl('https://evil.example/dist/renderer/index.html')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
    const dev = urlUnder('http://127.0.0.1:5173/');
    expect(dev('http://127.0.0.1:5173/index.html')).toBe(true);
    expect(dev('http://127.0.0.1:5174/')).toBe(false);
  });

  function fakeContents() {
    const emitter = new EventEmitter();
    let openHandler: ((d: { url: string }) => { action: string }) | null = null;
    const contents = {
      on: (ev: string, l: (...a: unknown[]) => void) => emitter.on(ev, l),
      setWindowOpenHandler: (h: (d: { url: string }) => { action: string }) => (openHandler = h),
    } as unknown as GuardedContents;
    const navigate = (ev: string, url: string): boolean => {
      const event = { preventDefault: vi.fn() };
      emitter.emit(ev, event, url);
      return event.preventDefault.mock.calls.length > 0;
    };
    return { contents, navigate, open: (url: string) => openHandler?.({ url }) };
  }

  it('blocks navigation off the app, every new window, webviews; https links go to the browser', () => {
    const { contents, navigate, open } = fakeContents();
    const openExternal = vi.fn();
    guardNavigation(contents, isAppUrl, openExternal);
    expect(navigate('will-navigate', 'https://evil.example/')).toBe(true);
    expect(navigate('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(navigate('will-redirect', 'https://evil.example/')).toBe(true);
    expect(navigate('will-navigate', APP + '#/settings')).toBe(false);
    expect(navigate('will-attach-webview', APP)).toBe(true);
    expect(open('https://restic.readthedocs.io/')).toEqual({ action: 'deny' });
    expect(open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(open('javascript:alert(1)')).toEqual({ action: 'deny' });
    expect(openExternal.mock.calls).toEqual([['https://restic.readthedocs.io/']]);
  });

  it('denies every permission but clipboard writes, and adds the CSP header', () => {
    type Request = (wc: unknown, p: string, cb: (ok: boolean) => void) => void;
    type Check = (wc: unknown, p: string) => boolean;
    type Headers = (d: { responseHeaders?: Record<string, string[]> }, cb: (r: unknown) => void) => void;
    const got: { request?: Request; check?: Check; headers?: Headers } = {};
    const session = {
      setPermissionRequestHandler: (h: Request) => (got.request = h),
      setPermissionCheckHandler: (h: Check) => (got.check = h),
      webRequest: { onHeadersReceived: (h: Headers) => (got.headers = h) },
    } as unknown as HardenedSession;
    hardenSession(session);
    const { request, check, headers } = got;
    const answers: boolean[] = [];
    for (const p of ['media', 'notifications', 'geolocation', 'clipboard-read', 'clipboard-sanitized-write']) request?.({}, p, (ok) => answers.push(ok));
    expect(answers).toEqual([false, false, false, false, true]);
    expect(check?.({}, 'media')).toBe(false);
    expect(check?.({}, 'clipboard-read')).toBe(false);
    let out: unknown;
    headers?.({ responseHeaders: { a: ['1'] } }, (r) => (out = r));
    expect(out).toEqual({ responseHeaders: { a: ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });

  it('createMainWindow: hardened options, guarded contents, shown on ready-to-show, loads the app page', () => {
    const created: Array<{ opts: BrowserWindowConstructorOptions; win: EventEmitter & Record<string, unknown> }> = [];
    class FakeWindow extends EventEmitter {
      readonly webContents = { on: vi.fn(), setWindowOpenHandler: vi.fn() };
      readonly show = vi.fn();
      readonly loadURL = vi.fn(async () => {});
      constructor(opts: BrowserWindowConstructorOptions) {
        super();
        created.push({ opts, win: this as never });
      }
    }
    createMainWindow({
      BrowserWindow: FakeWindow as unknown as new (o: BrowserWindowConstructorOptions) => BrowserWindow,
      preloadPath: '/p/index.cjs',
      pageUrl: APP,
      isAppUrl,
      openExternal: vi.fn(),
    });
    const first = created[0];
    expect(first?.opts.webPreferences?.sandbox).toBe(true);
    const win = first?.win as unknown as FakeWindow;
    expect(win.loadURL).toHaveBeenCalledWith(APP);
    expect(win.webContents.setWindowOpenHandler).toHaveBeenCalled();
    expect(win.webContents.on.mock.calls.map((c) => c[0])).toContain('will-navigate');
    expect(win.show).not.toHaveBeenCalled();
    win.emit('ready-to-show');
    expect(win.show).toHaveBeenCalled();
  });
});

describe('CSP in the page', () => {
  it('index.html carries the same policy as the header', async () => {
    const { readFileSync } = await import('node:fs');
    const html = readFileSync(new URL('../../src/renderer/index.html', import.meta.url), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(CONTENT_SECURITY_POLICY);
  });
});
