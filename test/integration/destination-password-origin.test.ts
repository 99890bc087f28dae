import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createDispatcher, type ApiDispatcher } from '../../src/main/core/api';
import { createLogger } from '../../src/main/core/log';
import { settingsFileStore } from '../../src/main/headless/settings-file';
import { loadDestinationPassword } from '../../src/main/headless/secrets';
import { GatewaySettings } from '../../src/shared/settings';
import { savedPasswordApplies } from '../../src/shared/destination-origin';
import type { ApiResult, SettingsView } from '../../src/shared/api';
import { freePort } from '../support/ports';

const SECRET = 'research-account-secret-7731';

/** A plain HTTP listener that records the Authorization header of every request it gets, and answers 401. */
interface Listener {
  url: string;
  authorizations: Array<string | undefined>;
  close(): Promise<void>;
}
async function listen(host: string, port = 0): Promise<Listener> {
  const authorizations: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    req.resume();
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The saved destination password goes only to the server it was saved for (issue 17): Test connection and Save
 * with a changed URL and an empty password field never send it elsewhere; a URL with user:pass is refused.
 */
describe('the saved destination password is bound to its server', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'password-origin-'));
  const settingsFile = path.join(dir, 'settings.json');
  let gateway: Gateway;
  let dispatcher: ApiDispatcher;
  let saved: Listener;
  let otherPort: Listener;
  let otherHost: Listener;
  const call = (method: string, input: unknown) => dispatcher.call(method, input) as Promise<ApiResult<unknown>>;
  const destinationWith = async (url: string, password = '') => {
    const view = (await call('getSettings', {})) as ApiResult<SettingsView>;
    if (!view.ok) throw new Error(view.error.message);
    return { settings: view.value.settings, destination: { ...view.value.settings.destination!, url, password } };
  };

  beforeAll(async () => {
    saved = await listen('127.0.0.1');
    otherPort = await listen('127.0.0.1');
    // Same port, another loopback address: only the host differs.
    otherHost = await listen('127.0.0.2', Number(new URL(saved.url).port));
    const raw = {
      site: { code: 'KGH' },
      intake: { aeTitle: 'DEID_GW', port: await freePort(), allowedCallingAeTitles: [] },
      destination: { url: saved.url, username: 'gateway', password: SECRET },
    };
    fs.writeFileSync(settingsFile, JSON.stringify(raw), { mode: 0o600 });
    const logger = createLogger({ sink: () => undefined });
    gateway = createGateway({ settings: GatewaySettings.parse(raw), dataDir: path.join(dir, 'data'), databaseKey: crypto.randomBytes(32).toString('hex'), logger });
    await gateway.start();
    dispatcher = createDispatcher({ gateway, settingsStore: settingsFileStore(settingsFile), exportDir: path.join(dir, 'exports'), logger });
  });

  beforeEach(() => {
    for (const l of [saved, otherPort, otherHost]) l.authorizations.length = 0;
  });

  afterAll(async () => {
    dispatcher?.close();
    await gateway?.stop();
    await Promise.all([saved, otherPort, otherHost].map((l) => l?.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Test connection to the saved server with an empty password field sends the saved password (the control)', async () => {
    const { destination } = await destinationWith(saved.url);
    await call('testDestination', { destination });
    expect(saved.authorizations.length).toBeGreaterThan(0);
    expect(saved.authorizations).toContain(`Basic ${Buffer.from(`gateway:${SECRET}`).toString('base64')}`);
  });

  it('Test connection to another port or another host with an empty password field sends no password there', async () => {
    for (const target of [otherPort, otherHost]) {
      const { destination } = await destinationWith(target.url);
      const result = await call('testDestination', { destination });
      expect(result.ok).toBe(true);
      expect(target.authorizations.length).toBeGreaterThan(0);
      expect(target.authorizations.every((a) => a === undefined)).toBe(true);
    }
  });

  it('Save with a changed URL and an empty password field is refused, says why, and sends nothing anywhere', async () => {
    const before = fs.readFileSync(settingsFile, 'utf8');
    const { settings } = await destinationWith(otherPort.url);
    const result = await call('saveSettings', { settings: { ...settings, destination: { ...settings.destination!, url: otherPort.url, password: '' } } });
    expect(result).toMatchObject({ ok: false, error: { code: 'refused' } });
    if (!result.ok) expect(result.error.message).toContain('type its password');
    expect(fs.readFileSync(settingsFile, 'utf8')).toBe(before);
    expect(gateway.settings().destination?.url).toBe(saved.url);
    expect(otherPort.authorizations.every((a) => a === undefined)).toBe(true);
  });

  it('Save with a changed URL and "Remove the saved password" saves no password, and the new server never gets the old one', async () => {
    const { settings } = await destinationWith(otherHost.url);
    const result = await call('saveSettings', { settings: { ...settings, destination: { ...settings.destination!, url: otherHost.url, password: '' } }, clearDestinationPassword: true });
    expect(result.ok).toBe(true);
    expect(gateway.settings().destination).toMatchObject({ url: otherHost.url, password: '' });
    expect(fs.existsSync(path.join(dir, 'destination.password'))).toBe(false);
    const { destination } = await destinationWith(otherHost.url);
    await call('testDestination', { destination });
    expect(otherHost.authorizations.length).toBeGreaterThan(0);
    // The gateway's own background check may name the user ("gateway:"); the old password never travels.
    const decoded = otherHost.authorizations.map((a) => (a ? Buffer.from(a.replace(/^Basic /, ''), 'base64').toString('utf8') : ''));
    expect(decoded.some((d) => d.includes(SECRET))).toBe(false);
    expect(otherHost.authorizations.some((a) => a?.includes(Buffer.from(`gateway:${SECRET}`).toString('base64')))).toBe(false);
  });

  it('refuses a destination URL with a user name or password in it, with a clear message', async () => {
    const { settings } = await destinationWith(saved.url);
    const result = await call('saveSettings', { settings: { ...settings, destination: { ...settings.destination!, url: `http://gateway:${SECRET}@127.0.0.1:8042` } } });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    if (!result.ok) expect(result.error.message).toContain('must not contain a user name or password');
    expect(GatewaySettings.safeParse({ destination: { url: 'https://user@research.example' } }).success).toBe(false);
  });

  it('treats only the same scheme, host and port as the same server', () => {
    const at = (url: string) => ({ type: 'orthanc-rest' as const, url });
    expect(savedPasswordApplies(at('https://research.example'), at('https://RESEARCH.example:443/dicom-web'))).toBe(true);
    expect(savedPasswordApplies(at('http://research.example:8042'), at('http://research.example:8042/orthanc'))).toBe(true);
    expect(savedPasswordApplies(at('https://research.example'), at('http://research.example:443'))).toBe(false);
    expect(savedPasswordApplies(at('http://research.example:8042'), at('http://research.example:8043'))).toBe(false);
    expect(savedPasswordApplies(at('http://research.example:8042'), at('http://research.example.evil:8042'))).toBe(false);
    expect(savedPasswordApplies({ type: 'dimse', host: 'pacs', port: 104 }, { type: 'dimse', host: 'pacs', port: 11112 })).toBe(false);
  });
});

describe('the headless destination password', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'password-file-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('comes from the environment first, then a 0600 file, and refuses a settings file others may read while it holds one', () => {
    const settingsFile = path.join(dir, 'settings.json');
    const passwordFile = path.join(dir, 'destination.password');
    fs.writeFileSync(settingsFile, '{}', { mode: 0o644 });
    fs.chmodSync(settingsFile, 0o644);
    expect(() => loadDestinationPassword(passwordFile, settingsFile, 'in-settings', {})).toThrow(/may be read by others \(mode 644\)/);
    const fromEnv = loadDestinationPassword(passwordFile, settingsFile, 'in-settings', { DEID_GATEWAY_DESTINATION_PASSWORD: 'from-env' });
    expect(fromEnv.password).toBe('from-env');
    expect(fromEnv.file).toBeUndefined();
    fs.chmodSync(settingsFile, 0o600);
    expect(loadDestinationPassword(passwordFile, settingsFile, 'in-settings', {})).toMatchObject({ password: 'in-settings', file: passwordFile });
    fs.writeFileSync(passwordFile, 'from-file\n', { mode: 0o640 });
    fs.chmodSync(passwordFile, 0o640);
    expect(() => loadDestinationPassword(passwordFile, settingsFile, '', {})).toThrow(/Password file .* may be read by others/);
    fs.chmodSync(passwordFile, 0o600);
    expect(loadDestinationPassword(passwordFile, settingsFile, '', {})).toMatchObject({ password: 'from-file', file: passwordFile });
  });

  it('is refused by Save when the environment supplies it, rather than silently ignored at the next start', async () => {
    const settingsFile = path.join(dir, 'env-settings.json');
    const store = settingsFileStore(settingsFile, { file: undefined, password: 'from-env' });
    const settings = GatewaySettings.parse({ destination: { url: 'http://127.0.0.1:8042', password: 'typed-in-screen' } });
    await expect(store.save(settings)).rejects.toThrow(/DEID_GATEWAY_DESTINATION_PASSWORD/);
    await store.save(GatewaySettings.parse({ destination: { url: 'http://127.0.0.1:8042', password: 'from-env' } }));
    expect(fs.readFileSync(settingsFile, 'utf8')).not.toContain('from-env');
    // An empty field leaves the environment's password in force (no error, nothing written anywhere).
    await store.save(GatewaySettings.parse({ destination: { url: 'http://127.0.0.1:8043', password: '' } }));
    expect(fs.readFileSync(settingsFile, 'utf8')).toContain('8043');
    expect(fs.readFileSync(settingsFile, 'utf8')).not.toMatch(/"password": "[^"]/);
    // The earlier test's password file beside it is untouched (this store has none of its own).
    expect(fs.readFileSync(path.join(dir, 'destination.password'), 'utf8')).toBe('from-file\n');
  });

  it('moves a password kept in an older settings file to its own 0600 file at the first save, even unchanged', async () => {
    const settingsFile = path.join(dir, 'old-settings.json');
    const passwordFile = path.join(dir, 'old-destination.password');
    const settings = GatewaySettings.parse({ destination: { url: 'http://127.0.0.1:8042', password: 'kept-in-settings' } });
    fs.writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
    const place = loadDestinationPassword(passwordFile, settingsFile, 'kept-in-settings', {});
    await settingsFileStore(settingsFile, { file: place.file, password: place.password }).save(settings);
    expect(fs.readFileSync(settingsFile, 'utf8')).not.toContain('kept-in-settings');
    expect(fs.readFileSync(passwordFile, 'utf8')).toBe('kept-in-settings\n');
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(loadDestinationPassword(passwordFile, settingsFile, '', {}).password).toBe('kept-in-settings');
  });
});
