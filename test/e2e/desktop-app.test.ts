import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron as electron, type ElectronApplication } from 'playwright-core';
import { run } from '../support/processes';
import { freePort } from '../support/ports';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

/** The Electron runtime's path, or why there is none (its download is not possible on every machine). */
function electronRuntime(): { binary?: string; reason?: string } {
  const missing = 'the Electron runtime is not installed on this machine (npm installs its package, but its download is not possible everywhere)';
  try {
    const binary = require('electron') as unknown;
    return typeof binary === 'string' && fs.existsSync(binary) ? { binary } : { reason: missing };
  } catch {
    // The electron package throws when its runtime was never downloaded.
    return { reason: missing };
  }
}

const runtime = electronRuntime();
const title = runtime.binary ? 'desktop app (Electron)' : `desktop app (Electron) — skipped: ${runtime.reason}`;
if (!runtime.binary) console.log(`skipping the desktop app smoke test: ${runtime.reason}`);

describe.skipIf(!runtime.binary)(title, () => {
  let app: ElectronApplication;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'desktop-'));

  beforeAll(async () => {
    await run('npm', ['run', 'build']);
    const port = await freePort();
    const userData = path.join(home, 'user-data');
    fs.mkdirSync(userData, { recursive: true });
    // Settings as the desktop app stores them (electron-store's settings.json in its user-data folder).
    fs.writeFileSync(path.join(userData, 'settings.json'), JSON.stringify({ gateway: { intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] } } }));
    app = await electron.launch({
      executablePath: runtime.binary,
      args: [ROOT, `--user-data-dir=${userData}`],
      // No keyring on a test machine: the key comes the way IT may give it on a managed workstation.
      env: { ...process.env, DEID_GATEWAY_DB_KEY: 'ab'.repeat(32) },
    });
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('launches with the window hardened, the tray idle, and the Status screen open', async () => {
    const page = await app.firstWindow();
    await page.getByRole('heading', { name: /status/i }).waitFor({ timeout: 30_000 });
    const trayState = await app.evaluate(() => (globalThis as { deidGatewayShell?: { trayState?: string } }).deidGatewayShell?.trayState);
    expect(trayState).toBe('idle');
    // The page has the contract's bridge, and no Node.
    expect(await page.evaluate(() => typeof (globalThis as { gatewayBridge?: unknown }).gatewayBridge)).toBe('object');
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    // The page from file:// carries its CSP as a <meta> (no header reaches it there), and it is enforced.
    expect(await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'))).toContain("script-src 'self'");
    // An inline script added to the page does not run (script-src 'self').
    expect(await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.head.appendChild(script);
      return (window as unknown as { inlineRan?: boolean }).inlineRan === true ? 'ran' : 'blocked';
    })).toBe('blocked');
    // Navigation away from the app is blocked.
    await page.evaluate(() => void (globalThis.location.href = 'https://example.org/'));
    await new Promise((r) => setTimeout(r, 500));
    expect(page.url()).toMatch(/^file:.*index\.html/);
  });

  it('stays in the tray when its window is closed', async () => {
    const page = await app.firstWindow();
    await page.close().catch(() => undefined);
    expect(await app.evaluate(({ app: electronApp }) => electronApp.isReady())).toBe(true);
  });
});
