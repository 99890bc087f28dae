import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports';
import { exited, waitFor } from './processes';

export interface OrthancServer {
  url: string;
  httpPort: number;
  username: string;
  password: string;
  storageDir: string;
  /** GET/POST/DELETE against the REST API as the registered user; parses JSON answers. */
  api<T = unknown>(route: string, init?: { method?: string; body?: Buffer | string }): Promise<T>;
  download(route: string): Promise<Buffer>;
  /** What Orthanc printed so far (for diagnosing a failed test). */
  log(): string;
  /** SIGTERM by default; SIGKILL for an outage that begins at once (a graceful stop goes on serving for a while). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and storage (after stop), e.g. to test an outage. */
  restart(): Promise<void>;
}

/** Starts the Debian Orthanc on a free 127.0.0.1 port with its own storage and basic auth. */
export async function startOrthanc(options: { username?: string; password?: string; extraConfig?: Record<string, unknown> } = {}): Promise<OrthancServer> {
  const username = options.username ?? 'researcher';
  const password = options.password ?? 'research-secret';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orthanc-'));
  const storageDir = path.join(dir, 'storage');
  fs.mkdirSync(storageDir);
  const httpPort = await freePort();
  const config = {
    Name: 'research-test',
    StorageDirectory: storageDir,
    IndexDirectory: storageDir,
    HttpPort: httpPort,
    HttpBindAddress: '127.0.0.1',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [username]: password },
    DicomServerEnabled: false,
    Plugins: [],
    ...options.extraConfig,
  };
  const configFile = path.join(dir, 'orthanc.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const url = `http://127.0.0.1:${httpPort}`;
  const auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let child: ChildProcess | undefined;
  let log = '';

  const request = async (route: string, init: { method?: string; body?: Buffer | string } = {}): Promise<Response> => {
    const res = await fetch(`${url}${route}`, { method: init.method ?? 'GET', headers: { Authorization: auth }, body: init.body as BodyInit | undefined });
    if (!res.ok) throw new Error(`Orthanc ${init.method ?? 'GET'} ${route}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };

  const launch = async (): Promise<void> => {
    child = spawn('Orthanc', [configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(`Orthanc on ${url}\n${log}`, async () => {
      if (child?.exitCode !== null) throw new Error(`Orthanc exited: ${log}`);
      const res = await fetch(`${url}/system`, { headers: { Authorization: auth } });
      return res.ok ? true : undefined;
    }, 30_000, 100);
  };
  await launch();

  const server: OrthancServer = {
    url,
    httpPort,
    username,
    password,
    storageDir,
    async api<T>(route: string, init?: { method?: string; body?: Buffer | string }) {
      const res = await request(route, init);
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    log: () => log,
    async download(route: string) {
      return Buffer.from(await (await request(route)).arrayBuffer());
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited(child);
    },
    async restart() {
      await server.stop();
      await launch();
    },
  };
  return server;
}
