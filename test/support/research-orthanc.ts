import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports';
import { exited, run, waitFor } from './processes';

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

export interface TlsProxy {
  /** https://127.0.0.1:PORT, the address clients use. */
  url: string;
  /** The test certificate authority clients must trust (PEM file). */
  certificateFile: string;
  certificate: string;
  stop(): Promise<void>;
}

/**
 * Runs nginx with the shipped site (debian/nginx-research-orthanc.conf) in front of `orthanc`, changed only
 * where a test must: a free port on 127.0.0.1, a certificate made now with openssl, the Orthanc port, and
 * no plain-http redirect server (it would need port 80).
 */
export async function startTlsProxy(orthanc: ResearchOrthanc): Promise<TlsProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'research-nginx-'));
  const key = path.join(dir, 'privkey.pem');
  const cert = path.join(dir, 'fullchain.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  const port = await freePort();
  let site = fs.readFileSync(path.join(RESEARCH_ORTHANC_DIR, 'debian/nginx-research-orthanc.conf'), 'utf8');
  const change = (from: string | RegExp, to: string): void => {
    const next = site.replace(from, to);
    if (next === site) throw new Error(`The shipped nginx site no longer contains ${String(from)}: update the test's adaptation`);
    site = next;
  };
  change(/\n# Plain http only redirects;[\s\S]*$/, '\n');
  change('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
  change('listen [::]:443 ssl;', '');
  change('/etc/ssl/research-orthanc/fullchain.pem', cert);
  change('/etc/ssl/research-orthanc/privkey.pem', key);
  change('proxy_pass http://127.0.0.1:8042;', `proxy_pass http://127.0.0.1:${orthanc.port};`);
  fs.writeFileSync(path.join(dir, 'site.conf'), site);
  const main = [
    'daemon off;',
    'worker_processes 1;',
    process.getuid?.() === 0 ? 'user root;' : '',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
    `  include ${dir}/site.conf;`,
    '}',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), main);
  const child = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const certificate = fs.readFileSync(cert, 'utf8');
  const url = `https://127.0.0.1:${port}`;
  await waitFor('nginx in front of the research Orthanc', async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${log}${fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : ''}`);
    const status = await new Promise<number>((resolve) => {
      const req = https.get(`${url}/system`, { ca: certificate }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    return status === 401 ? true : undefined; // Orthanc's answer without a password: the whole chain is up
  }, 15_000, 100);
  return {
    url,
    certificateFile: cert,
    certificate,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
