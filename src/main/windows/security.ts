import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron';

/**
 * The Content Security Policy of the window: only the app's own scripts and styles, no remote content.
 *
 * Also present as a `<meta>` tag in `src/renderer/index.html` (a test keeps the two equal) because `file://`
 * pages get no response headers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `webPreferences` of every window (Electron security checklist items 2–4, 8, 20).
 *
 * The renderer has no Node, runs in the Chromium sandbox and only sees the preload's `window.agent`.
 */
export function hardenedWebPreferences(preloadPath: string): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: process.env.NODE_ENV === 'development',
  };
}

/** The part of `WebContents` the navigation guard uses. */
export type GuardedContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/**
 * Blocks navigation away from the app page and every new window (checklist items 13–15).
 *
 * `https:` links are handed to the system browser through `openExternal`; anything else is dropped.
 */
export function guardNavigation(contents: GuardedContents, isAppUrl: (url: string) => boolean, openExternal: (url: string) => unknown): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isHttpsUrl(url)) void openExternal(url);
    return { action: 'deny' };
  });
}

/** The part of `Session` the permission and CSP setup uses. */
export type HardenedSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'webRequest'>;

/** The only permission the window may use: writing (not reading) the clipboard, for "Copy log". */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/**
 * Denies every permission request except clipboard writes (camera, notifications, geolocation …: the window
 * needs none, item 5) and adds the CSP header to every response (item 7).
 */
export function hardenSession(session: HardenedSession): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(ALLOWED_PERMISSIONS.has(permission)));
  session.setPermissionCheckHandler((_contents, permission) => ALLOWED_PERMISSIONS.has(permission));
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
}

function isHttpsUrl(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}
