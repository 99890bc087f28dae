import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createDispatcher, type ApiDispatcher } from '../../src/main/core/api';
import { createLogger } from '../../src/main/core/log';
import { settingsFileStore } from '../../src/main/headless/settings-file';
import { startApiServer, sessionCookieName, type ApiServer } from '../../src/main/headless/api-server';
import { ScreenSessions, ONE_TIME_TTL_MS, SESSION_IDLE_MS } from '../../src/main/headless/sessions';
import { GatewaySettings } from '../../src/shared/settings';
import { freePort } from '../support/ports';

describe('one-time codes and sessions', () => {
  it('exchanges a code once, within two minutes, and ends a session after 12 hours unused', () => {
    let now = 1_000_000;
    const sessions = new ScreenSessions(() => now);
    const code = sessions.mintCode();
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const first = sessions.exchange(code);
    expect(first.ok).toBe(true);
    expect(sessions.exchange(code)).toEqual({ ok: false, reason: 'used' });
    expect(sessions.exchange('never-minted')).toEqual({ ok: false, reason: 'unknown' });
    const late = sessions.mintCode();
    now += ONE_TIME_TTL_MS + 1;
    expect(sessions.exchange(late)).toEqual({ ok: false, reason: 'expired' });
    const id = first.ok ? first.sessionId : '';
    expect(sessions.touch(id)).toBe(true);
    now += SESSION_IDLE_MS - 1;
    expect(sessions.touch(id)).toBe(true);
    now += SESSION_IDLE_MS + 1;
    expect(sessions.touch(id)).toBe(false);
    expect(sessions.touch(undefined)).toBe(false);
    expect(ONE_TIME_TTL_MS).toBe(120_000);
  });
});

/** The session rules over HTTP, as any client (not only the page) meets them. */
describe('the screens\' HTTP server without a browser', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-http-'));
  let gateway: Gateway;
  let dispatcher: ApiDispatcher;
  let server: ApiServer;
  let origin: string;

  const openSession = async (): Promise<string> => {
    const code = new URL(server.oneTimeAddress()).hash.replace(/^#open=/, '');
    const r = await fetch(`${origin}/session`, { method: 'POST', headers: { Origin: origin, 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) });
    expect(r.status).toBe(200);
    const cookie = new RegExp(`^deid_gateway_session_${server.port}=([^;]+); HttpOnly; SameSite=Strict; Path=/$`).exec(r.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toBeDefined();
    return cookie!;
  };

  beforeAll(async () => {
    const logger = createLogger({ sink: () => undefined });
    const settings = GatewaySettings.parse({ intake: { port: await freePort() } });
    gateway = createGateway({ settings, dataDir: path.join(dir, 'data'), databaseKey: crypto.randomBytes(32).toString('hex'), logger });
    await gateway.start();
    dispatcher = createDispatcher({ gateway, settingsStore: settingsFileStore(undefined), exportDir: path.join(dir, 'exports'), logger });
    server = await startApiServer({ dispatcher, staticDir: path.join(dir, 'no-renderer'), logger });
    origin = server.origin;
  });

  afterAll(async () => {
    await server?.close();
    dispatcher?.close();
    await gateway?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets the session cookie call the API from the page\'s own origin only (another local port is refused)', async () => {
    const cookie = await openSession();
    const post = (headers: Record<string, string>) => fetch(`${origin}/api/getStatus`, { method: 'POST', headers: { Cookie: `${sessionCookieName(server.port)}=${cookie}`, ...headers }, body: '{}' });
    expect((await post({ Origin: origin })).status).toBe(200);
    expect((await post({ Origin: 'http://127.0.0.1:8042' })).status).toBe(403);
    // No Origin at all (not a page of ours): the cookie alone does not do.
    expect((await post({})).status).toBe(401);
    expect((await fetch(`${origin}/session`, { headers: { Cookie: `${sessionCookieName(server.port)}=${cookie}` } }).then((r) => r.json()))).toEqual({ ok: true, value: { signedIn: true } });
    // Signing out ends it.
    await fetch(`${origin}/session/end`, { method: 'POST', headers: { Origin: origin, Cookie: `${sessionCookieName(server.port)}=${cookie}` } });
    expect((await post({ Origin: origin })).status).toBe(401);
  });

  it('gives a one-time address only for the control token in its header, never in the query string', async () => {
    expect((await fetch(`${origin}/control/one-time-address`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${origin}/control/one-time-address?token=${server.token}`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${origin}/api/getStatus?token=${server.token}`, { method: 'POST', body: '{}' })).status).toBe(401);
    const r = await fetch(`${origin}/control/one-time-address`, { method: 'POST', headers: { 'X-Gateway-Token': server.token } });
    const body = (await r.json()) as { ok: boolean; value: { url: string } };
    expect(body.value.url).toMatch(new RegExp(`^${origin}/#open=[A-Za-z0-9_-]{43}$`));
  });

  it('refuses a code from another origin\'s page, and says why a spent code is refused', async () => {
    const code = new URL(server.oneTimeAddress()).hash.replace(/^#open=/, '');
    const foreign = await fetch(`${origin}/session`, { method: 'POST', headers: { Origin: 'http://127.0.0.1:8042' }, body: JSON.stringify({ code }) });
    expect(foreign.status).toBe(403);
    const ok = await fetch(`${origin}/session`, { method: 'POST', headers: { Origin: origin }, body: JSON.stringify({ code }) });
    expect(ok.status).toBe(200);
    const again = await fetch(`${origin}/session`, { method: 'POST', headers: { Origin: origin }, body: JSON.stringify({ code }) });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/^This address was already used: .*npm run open/);
  });
});
