import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { ensureRendererBuilt } from '../support/renderer-build';
import { freePort } from '../support/ports';
import { run } from '../support/processes';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Who gets into the screens (issue 17): a one-time address opens a session kept in an HttpOnly cookie; reload
 * stays in; the address is spent; a browser without a session, and an open tab after a restart, see how to get
 * in (not a JSON 401); `npm run open` gets back in; the control token is in no URL, no command line, no log.
 */
describe('the screens\' session in a browser', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'screens-session-'));
  const dataDir = path.join(scratch, 'data');
  const databaseKey = crypto.randomBytes(32).toString('hex');
  let uiPort: number;
  let settings: Record<string, unknown>;
  let gateway: GatewayProcess;
  let browser: Browser;
  let signedIn: BrowserContext;
  let page: Page;
  const tokensSeen: string[] = [];

  const inApp = (p: Page) => p.waitForSelector('nav[aria-label="Screens"]', { timeout: 30_000 });
  const signedOut = (p: Page) => p.waitForSelector('[data-testid="signed-out"]', { timeout: 30_000 });
  const processList = async (): Promise<string> => (await run('ps', ['-eo', 'args', '-ww'])).stdout;

  beforeAll(async () => {
    const [dicomPort, port] = await Promise.all([freePort(), freePort(), ensureRendererBuilt()]);
    uiPort = port;
    settings = { site: { code: 'KGH' }, intake: { aeTitle: 'DEID_GW', port: dicomPort, allowedCallingAeTitles: [] } };
    gateway = await startGateway(settings, { dataDir, databaseKey, uiPort });
    tokensSeen.push(gateway.controlToken());
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    signedIn = await browser.newContext();
    page = await signedIn.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(`${dataDir}.config`, { recursive: true, force: true });
  });

  it('opens with the one-time address, keeps the code out of the address bar, and holds the session in an HttpOnly, SameSite=Strict cookie', async () => {
    const address = gateway.uiUrl();
    expect(address).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${uiPort}/#open=[A-Za-z0-9_-]{43}$`));
    await page.goto(address);
    await inApp(page);
    expect(page.url()).toBe(`http://127.0.0.1:${uiPort}/#/status`);
    const cookies = await signedIn.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `deid_gateway_session_${uiPort}`, httpOnly: true, sameSite: 'Strict', path: '/' });
    // The page's scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // The API answers the page (live status on screen).
    await page.waitForSelector('[data-testid="intake-ae"]');
    // An inline script added to the page does not run (script-src 'self').
    expect(await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.head.appendChild(script);
      return (window as unknown as { inlineRan?: boolean }).inlineRan === true ? 'ran' : 'blocked';
    })).toBe('blocked');
  });

  it('stays in after a reload (F5)', async () => {
    await page.reload();
    await inApp(page);
    expect(await page.$('[data-testid="signed-out"]')).toBeNull();
  });

  it('refuses the same one-time address a second time, in a browser without the session', async () => {
    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(gateway.uiUrl());
    await signedOut(second);
    expect(await second.textContent('[data-testid="signed-out"]')).toMatch(/This address was already used/);
    expect(await second.textContent('[data-testid="signed-out"]')).toContain('npm run open');
    expect(second.url()).not.toContain('open=');
    expect(await other.cookies()).toEqual([]);
    await other.close();
  });

  it('shows how to get in, not a JSON 401, to a browser with no session; the API stays closed to it', async () => {
    const other = await browser.newContext();
    const fresh = await other.newPage();
    await fresh.goto(`http://127.0.0.1:${uiPort}/`);
    await signedOut(fresh);
    expect(await fresh.textContent('h1')).toBe('Open the gateway from its shortcut');
    expect(await fresh.textContent('[data-testid="signed-out"]')).toMatch(/no session with the gateway.*npm run open/s);
    const status = await fresh.evaluate(async () => (await fetch('/api/getStatus', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } })).status);
    expect(status).toBe(401);
    await other.close();
  });

  it('after a restart, the open tab says how to get back in, and `npm run open` does', async () => {
    expect(await gateway.stop()).toBe(0);
    gateway = await startGateway(settings, { dataDir, databaseKey, uiPort });
    tokensSeen.push(gateway.controlToken());
    expect(tokensSeen[1]).not.toBe(tokensSeen[0]);
    // Without a reload: the tab notices its session is gone (the event stream is refused) and says so.
    await signedOut(page);
    expect(await page.textContent('[data-testid="signed-out"]')).toMatch(/gateway was restarted/);
    await page.reload();
    await signedOut(page);

    const address = await gateway.openAddress();
    expect(address).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${uiPort}/#open=`));
    await page.goto(address);
    await inApp(page);
    await page.waitForSelector('[data-testid="intake-ae"]');
    expect(page.url()).toBe(`http://127.0.0.1:${uiPort}/#/status`);
  });

  it('puts the control token in no URL, command line or log line', async () => {
    const list = await processList();
    const log = gateway.output();
    for (const token of tokensSeen) {
      expect(list).not.toContain(token);
      expect(log).not.toContain(token);
      expect(page.url()).not.toContain(token);
    }
    // The session's cookie value is not logged either.
    const cookie = (await signedIn.cookies())[0]!.value;
    expect(log).not.toContain(cookie);
    // The control file that `npm run open` reads is its owner's alone.
    expect(fs.statSync(path.join(`${dataDir}.config`, 'ui-control.json')).mode & 0o777).toBe(0o600);
  });
});
