import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../support/processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tsx = path.join(ROOT, 'node_modules/.bin/tsx');
const cli = path.join(ROOT, 'src/main/headless/cli.ts');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
}

describe('headless runner command line', () => {
  it('refuses an invalid settings file, naming each bad key, with exit code 2', async () => {
    const dir = tempDir();
    const settings = path.join(dir, 'settings.json');
    fs.writeFileSync(settings, JSON.stringify({ intake: { port: 'eleven', aeTitle: '' }, destination: { url: 'not a url' } }));
    const r = await run(tsx, [cli, '--settings', settings, '--data-dir', path.join(dir, 'data')], { allowFailure: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/intake\.port:/);
    expect(r.stderr).toMatch(/intake\.aeTitle: AE title must not be empty/);
    expect(r.stderr).toMatch(/destination\.url:/);
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('refuses a settings file that is not JSON', async () => {
    const dir = tempDir();
    const settings = path.join(dir, 'settings.json');
    fs.writeFileSync(settings, '{ "intake": ');
    const r = await run(tsx, [cli, '--settings', settings], { allowFailure: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cannot read settings file/);
  });

  it('refuses a database key file that others may read', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'database.key');
    fs.writeFileSync(keyFile, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
    fs.chmodSync(keyFile, 0o644);
    const env = { ...process.env };
    delete env.DEID_GATEWAY_DB_KEY;
    const r = await run(tsx, [cli, '--key-file', keyFile, '--data-dir', path.join(dir, 'data')], { allowFailure: true, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/may be read by others.*chmod 600/);
  });

  it('creates its key file with mode 0600, outside the data folder, on first start', async () => {
    const dir = tempDir();
    const settings = path.join(dir, 'settings.json');
    // A port already taken: start fails after the key step, with advice.
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const port = (taken.address() as net.AddressInfo).port;
    fs.writeFileSync(settings, JSON.stringify({ intake: { port } }));
    const env = { ...process.env };
    delete env.DEID_GATEWAY_DB_KEY;
    const r = await run(tsx, [cli, '--settings', settings, '--data-dir', path.join(dir, 'data')], { allowFailure: true, env });
    taken.close();
    const keyFile = path.join(dir, 'database.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.readdirSync(path.join(dir, 'data'))).not.toContain('database.key');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Gateway could not start: .*\\(port ${port} is in use, often by another DICOM program: stop it, or choose another intake\\.port in Settings\\)`));
  });
});
