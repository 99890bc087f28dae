import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';

/**
 * The renderer is untrusted: no Node, an isolated and sandboxed preload, a strict Content-Security-Policy, no
 * navigation away from the app, no new windows, no permissions. One place for all of it (Electron's checklist).
 */
export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
} as const satisfies BrowserWindowConstructorOptions['webPreferences'];

/** The one policy of src/shared/csp.ts; the built index.html carries it as a <meta> too, which is what a file:// page gets. */
export { CONTENT_SECURITY_POLICY };

/** True when `url` is one of the app's own pages (same file, or the dev server's origin). */
export function isAppUrl(url: string, appUrl: string): boolean {
  let target: URL;
  let app: URL;
  try {
    target = new URL(url);
    app = new URL(appUrl);
  } catch {
    return false;
  }
  if (app.protocol === 'file:') return target.protocol === 'file:' && target.pathname === app.pathname;
  return target.origin === app.origin;
}

/**
 * The IPC sender check: a message counts only from the app's own page in a top-level frame (Electron's
 * WebFrameMain: `parent` is null at the top), never from a frame or a page navigated elsewhere.
 */
export function isTrustedSender(sender: { url: string; parent: unknown } | null | undefined, appUrl: string): boolean {
  return !!sender && sender.parent === null && isAppUrl(sender.url, appUrl);
}

/** Applies the CSP to every response served over http(s) (file:// pages get the <meta>) and denies every permission request (camera, notifications from the page…). */
export function hardenSession(session: Session): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/** Blocks navigation away from the app, new windows and <webview>s in one window's contents. */
export function hardenContents(contents: WebContents, appUrl: string, log: (message: string) => void): void {
  contents.on('will-navigate', (event, url) => {
    if (isAppUrl(url, appUrl)) return;
    event.preventDefault();
    log('blocked navigation away from the app');
  });
  contents.on('will-redirect', (event, url) => {
    if (isAppUrl(url, appUrl)) return;
    event.preventDefault();
    log('blocked a redirect away from the app');
  });
  contents.setWindowOpenHandler(() => {
    log('blocked a new window');
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
