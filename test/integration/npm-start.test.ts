import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, waitFor } from '../support/processes';
import { echoscu } from '../support/dicom-tools';
import { freePort } from '../support/ports';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The README's first command, where Electron's runtime is missing (as here): headless, and it says so. */
describe('npm start without the Electron runtime', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('says it starts headless, serves the screens behind a token, accepts DICOM, and stops on SIGTERM', async () => {
    // The user's settings file, as the first start writes it, but on a free port (11112 may be taken here).
    const port = await freePort();
    const settingsFile = path.join(home, 'config/deid-gateway/settings.json');
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] } }));
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data'), DISPLAY: '', WAYLAND_DISPLAY: '' };
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitFor('the screens\' address', () => /ui: open (\S+)/.exec(out)?.[1], 90_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}\n${out}`);
      });
      await waitFor('ready', () => (/ready: accepting DICOM associations/.test(out) ? true : undefined), 30_000);
      expect(out).toMatch(/Electron runtime is not installed on this machine, so the gateway starts headless/);
      expect(out).toMatch(/No desktop here to open a browser in/);
      expect(out).toContain(`Settings: ${settingsFile}`);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="root">/);
      expect((await fetch(new URL('/api/getStatus', url), { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await echoscu(port)).code).toBe(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);
    expect(out).toMatch(/stopped/);
  });
});
