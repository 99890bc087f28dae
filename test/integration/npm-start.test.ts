import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, run, waitFor } from '../support/processes';
import { echoscu } from '../support/dicom-tools';
import { freePort } from '../support/ports';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// One `npm ci` of the whole tree, with the native SQLite module compiled where its prebuilt binary cannot be fetched.
const INSTALL_TIMEOUT_MS = 25 * 60_000;

/**
 * The README's first commands on a fresh copy of the repository, where the Electron runtime cannot be downloaded
 * (GitHub unreachable, as on this machine; elsewhere ELECTRON_MIRROR points at a closed local port to make it
 * so): `npm ci` with no ELECTRON_SKIP_BINARY_DOWNLOAD passes, and `npm start -- --no-browser` says it starts
 * headless, prints its one-time address and `ready`, serves the page, keeps the API closed, accepts DICOM.
 */
describe('npm ci && npm start on a fresh copy, without the Electron runtime', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
  const clone = path.join(home, 'repo');
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('installs without extra variables, then starts headless with its address and ready, and stops on SIGTERM', async () => {
    // The working tree as a fresh checkout would have it: tracked and new files, nothing ignored (no node_modules, no dist).
    const { stdout: listed } = await run('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard']);
    for (const file of listed.split('\0').filter(Boolean)) {
      if (!fs.existsSync(path.join(ROOT, file))) continue;
      fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(clone, file));
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_MIRROR: 'http://127.0.0.1:1/' };
    delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
    delete env.npm_config_electron_skip_binary_download;
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const install = await run(npm, ['ci', '--no-audit', '--no-fund'], { env: { ...env, npm_config_loglevel: 'warn' }, allowFailure: true, cwd: clone });
    expect(install.code, `npm ci failed:\n${install.stderr}\n${install.stdout}`).toBe(0);
    // Electron's postinstall did not run (npm 11 runs only the allowScripts packages'), so no runtime was fetched.
    expect(fs.existsSync(path.join(clone, 'node_modules/electron/package.json'))).toBe(true);
    expect(fs.existsSync(path.join(clone, 'node_modules/electron/dist'))).toBe(false);
    // What the allowScripts list lets run did run: the native SQLite module is built.
    expect(fs.existsSync(path.join(clone, 'node_modules/better-sqlite3-multiple-ciphers/build/Release/better_sqlite3.node'))).toBe(true);

    const port = await freePort();
    const uiPort = await freePort();
    // The user's settings file, as the first start writes it, but on free ports (11112 and 11180 may be taken here).
    const settingsFile = path.join(home, 'config/deid-gateway/settings.json');
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] }, ui: { port: uiPort } }));
    const startEnv: NodeJS.ProcessEnv = { ...env, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data'), DISPLAY: '', WAYLAND_DISPLAY: '' };
    delete startEnv.DEID_GATEWAY_DB_KEY;
    const child = spawn(npm, ['start', '--', '--no-browser'], { cwd: clone, env: startEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitFor('the screens\' address', () => /ui: open (\S+)/.exec(out)?.[1], 180_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}\n${out}`);
      });
      await waitFor('ready', () => (/ready: accepting DICOM associations/.test(out) ? true : undefined), 60_000);
      expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${uiPort}/#open=[A-Za-z0-9_-]{43}$`));
      expect(out).toMatch(/Electron runtime is not installed on this machine, so the gateway starts headless/);
      expect(out).toContain(`Settings: ${settingsFile}`);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="root">/);
      expect((await fetch(new URL('/api/getStatus', url), { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await echoscu(port)).code).toBe(0);
      // `npm run open` from the same copy gets a new one-time address from the running gateway.
      const opened = await run(npm, ['run', '--silent', 'open', '--', '--print'], { env: startEnv, cwd: clone });
      expect(opened.stdout.trim()).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${uiPort}/#open=[A-Za-z0-9_-]{43}$`));
    } finally {
      // npm, the start script and the gateway: one process group.
      process.kill(-child.pid!, 'SIGTERM');
    }
    await exited(child);
    await waitFor('stopped', () => (/\bstopped\b/.test(out) ? true : undefined), 30_000);
  }, INSTALL_TIMEOUT_MS + 5 * 60_000);
});
