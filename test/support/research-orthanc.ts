import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports';
import { exited, waitFor } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RESEARCH_ORTHANC_DIR = path.join(ROOT, 'resources/research-orthanc');

export interface Account {
  username: string;
  password: string;
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
  json<T = unknown>(): T;
}

export interface ResearchOrthanc {
  url: string;
  port: number;
  accounts: { gateway: Account; gateway2: Account; researcher: Account; admin: Account; guest: Account };
  /** A request as `account` (none: no credentials); `host` reaches the same port on another address. */
  request(account: Account | undefined, method: string, route: string, body?: Buffer | string, headers?: Record<string, string>, host?: string): Promise<HttpAnswer>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's Orthanc with the shipped research configuration as the Debian recipe installs it
 * (orthanc.json, debian/plugins.json, debian/local-only.json: plain HTTP for local clients, nginx in front
 * does TLS), changed only where a test must: a free port, temporary storage, test accounts, the Lua script
 * at its path in the repository, and DICOMweb's links in plain http since no nginx is in front here.
 */
export async function startResearchOrthanc(): Promise<ResearchOrthanc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'research-orthanc-'));
  const storage = path.join(dir, 'db');
  fs.mkdirSync(storage);
  const shipped = (file: string) => JSON.parse(fs.readFileSync(path.join(RESEARCH_ORTHANC_DIR, file), 'utf8')) as Record<string, unknown>;
  const common = shipped('orthanc.json');
  const account = (username: string): Account => ({ username, password: crypto.randomBytes(18).toString('base64') });
  const accounts = { gateway: account('gateway-kgh'), gateway2: account('gateway-stm'), researcher: account('researcher-ana'), admin: account('admin'), guest: account('guest') };
  const port = await freePort();
  const config = {
    ...common,
    ...shipped('debian/plugins.json'),
    ...shipped('debian/local-only.json'),
    StorageDirectory: storage,
    IndexDirectory: storage,
    HttpPort: port,
    LuaScripts: [path.join(RESEARCH_ORTHANC_DIR, 'research-access.lua')],
    RegisteredUsers: Object.fromEntries(Object.values(accounts).map((a) => [a.username, a.password])),
    DicomWeb: { ...(common.DicomWeb as Record<string, unknown>), Ssl: false },
  };
  const configFile = path.join(dir, 'orthanc.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

  const url = `http://127.0.0.1:${port}`;
  const request = (who: Account | undefined, method: string, route: string, body?: Buffer | string, headers: Record<string, string> = {}, host = '127.0.0.1'): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const all: Record<string, string | number> = { ...headers };
      if (who) all.Authorization = `Basic ${Buffer.from(`${who.username}:${who.password}`).toString('base64')}`;
      const payload = body === undefined ? undefined : Buffer.from(body);
      if (payload) all['Content-Length'] = payload.length;
      const req = http.request(`http://${host.includes(':') ? `[${host}]` : host}:${port}${route}`, { method, headers: all }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buffer = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body: buffer, headers: res.headers, json: <T>() => JSON.parse(buffer.toString('utf8')) as T });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });

  let log = '';
  const child: ChildProcess = spawn('Orthanc', [configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await waitFor(`research Orthanc on ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`Orthanc exited: ${log}`);
    return (await request(accounts.admin, 'GET', '/system')).status === 200 ? true : undefined;
  }, 30_000, 100).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${log}`);
  });

  return {
    url,
    port,
    accounts,
    request,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
