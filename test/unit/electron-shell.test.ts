import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { trayStatus, RECEIVING_WINDOW_MS } from '../../src/main/electron/tray-state';
import { NoticePlanner, NOTICE_BATCH_MS, type DesktopNotice } from '../../src/main/electron/notifications';
import { WindowPolicy } from '../../src/main/electron/window-policy';
import { WEB_PREFERENCES, CONTENT_SECURITY_POLICY, hardenContents, isAppUrl, isTrustedSender } from '../../src/main/electron/security';
import type { InstanceCounts } from '../../src/shared/domain';

const counts = (over: Partial<InstanceCounts> = {}): InstanceCounts => ({ received: 0, deidentified: 0, uploading: 0, uploaded: 0, held: 0, failed: 0, discarded: 0, ...over });

describe('tray state from the gateway counts', () => {
  const now = 1_000_000;
  it('is idle when everything is sent', () => {
    expect(trayStatus({ counts: counts({ uploaded: 40 }), paused: false, now })).toEqual({ state: 'idle', tooltip: 'De-identification gateway: all sent' });
  });
  it('is receiving right after an arrival, and backlog once arrivals stop with work left', () => {
    const busy = counts({ received: 2, uploading: 1 });
    expect(trayStatus({ counts: busy, lastReceivedAt: now - 1000, paused: false, now }).state).toBe('receiving');
    expect(trayStatus({ counts: busy, lastReceivedAt: now - RECEIVING_WINDOW_MS - 1, paused: false, now })).toEqual({
      state: 'backlog',
      tooltip: 'De-identification gateway: 3 waiting to be sent',
    });
  });
  it('shows an error for failed or held instances, whatever else is going on, with counts and no PHI', () => {
    const s = trayStatus({ counts: counts({ failed: 2, held: 1, received: 5 }), lastReceivedAt: now, paused: true, now });
    expect(s).toEqual({ state: 'error', tooltip: 'De-identification gateway: 2 failed, 1 held for review · intake paused' });
  });
  it('never shows receiving while intake is paused', () => {
    expect(trayStatus({ counts: counts({ deidentified: 1 }), lastReceivedAt: now, paused: true, now }).state).toBe('backlog');
  });
});

describe('desktop notifications', () => {
  it('batches failures and holds into one notice each, with counts only', () => {
    const shown: DesktopNotice[] = [];
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const planner = new NoticePlanner((n) => shown.push(n), (fn, ms) => (timers.push({ fn, ms }), 0 as unknown as ReturnType<typeof setTimeout>));
    for (let i = 0; i < 3; i++) planner.onInstance({ instanceId: i, state: 'failed', error: 'Research server rejected the upload: 401', researchId: 'KGH-7F3K9Q2M' });
    planner.onInstance({ instanceId: 9, state: 'held', error: 'Burned In Annotation is YES' });
    planner.onInstance({ instanceId: 10, state: 'uploaded' });
    expect(timers).toHaveLength(1);
    expect(timers[0]!.ms).toBe(NOTICE_BATCH_MS);
    expect(shown).toEqual([]);
    timers[0]!.fn();
    expect(shown.map((n) => n.title)).toEqual(['Upload failed', 'Held for review']);
    expect(shown[0]!.body).toMatch(/^3 instances could not be sent/);
    expect(shown[1]!.body).toMatch(/^1 instance held back/);
    expect(JSON.stringify(shown)).not.toMatch(/KGH-|401|Burned/);
    planner.onInstance({ instanceId: 11, state: 'failed' });
    expect(timers).toHaveLength(2); // a new batch after the flush
  });
});

describe('window lifecycle', () => {
  it('hides the window on close until the user quits, and stays in the tray with no window', () => {
    const policy = new WindowPolicy();
    expect(policy.hideInsteadOfClose()).toBe(true);
    expect(policy.quitWhenAllWindowsClosed()).toBe(false);
    policy.beginQuit();
    expect(policy.isQuitting).toBe(true);
    expect(policy.hideInsteadOfClose()).toBe(false);
  });
});

describe('window security', () => {
  const appUrl = 'file:///opt/gateway/resources/app.asar/dist/renderer/index.html';
  it('turns on isolation and the sandbox and keeps Node out of the page', () => {
    expect(WEB_PREFERENCES).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false });
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|\*/);
  });
  it('knows the app page from anything else', () => {
    expect(isAppUrl(`${appUrl}#/studies`, appUrl)).toBe(true);
    expect(isAppUrl('file:///etc/passwd', appUrl)).toBe(false);
    expect(isAppUrl('https://example.org/', appUrl)).toBe(false);
    expect(isAppUrl('not a url', appUrl)).toBe(false);
    expect(isAppUrl('http://localhost:5173/studies', 'http://localhost:5173/')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
  });
  it('accepts IPC only from the app page in its top-level frame', () => {
    expect(isTrustedSender({ url: appUrl, parent: null }, appUrl)).toBe(true);
    expect(isTrustedSender({ url: appUrl, parent: { url: appUrl } }, appUrl)).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/', parent: null }, appUrl)).toBe(false);
    expect(isTrustedSender(null, appUrl)).toBe(false);
  });
  it('blocks navigating away, redirects, new windows and webviews', () => {
    const contents = new EventEmitter() as EventEmitter & { setWindowOpenHandler(h: () => { action: string }): void; openHandler?: () => { action: string } };
    contents.setWindowOpenHandler = (h) => (contents.openHandler = h);
    const log: string[] = [];
    hardenContents(contents as never, appUrl, (m) => log.push(m));
    const attempt = (event: string, url?: string): boolean => {
      let prevented = false;
      contents.emit(event, { preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    expect(attempt('will-navigate', 'https://evil.example/')).toBe(true);
    expect(attempt('will-navigate', `${appUrl}#/settings`)).toBe(false);
    expect(attempt('will-redirect', 'https://evil.example/')).toBe(true);
    expect(attempt('will-attach-webview')).toBe(true);
    expect(contents.openHandler?.()).toEqual({ action: 'deny' });
    expect(log).toEqual(['blocked navigation away from the app', 'blocked a redirect away from the app', 'blocked a new window']);
  });
});
