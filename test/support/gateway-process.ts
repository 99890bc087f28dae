import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { exited, run, waitFor } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  dataDir: string;
  settingsFile: string;
  databaseKey: string;
  /** Everything the process printed so far. */
  output(): string;
  /** The one-time address the runner printed at start ("ui: open http://127.0.0.1:…/#open=…"): opens a session once. */
  uiUrl(): string;
  /** The screens' origin (no secret). */
  uiOrigin(): string;
  /** The control token from the runner's 0600 control file, for API calls from the test (header X-Gateway-Token). */
  controlToken(): string;
  /** A new one-time address, as `npm run open -- --print` gets it. */
  openAddress(): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | string>;
  /** SIGKILL to the runner and the node process it started (a crash: nothing gets to clean up). */
  kill(): Promise<void>;
}

/** Starts the headless runner (`npm run headless`) as a separate process and waits for its ready line. */
export async function startGateway(
  settings: Record<string, unknown>,
  options: {
    dataDir?: string;
    databaseKey?: string;
    uiPort?: number;
    /** More environment for the runner (NODE_OPTIONS, say). */
    env?: Record<string, string>;
    /** Runs the runner through another command (a memory cap): gets the command and arguments, gives the ones to spawn. */
    wrap?: (command: string, args: string[]) => [string, string[]];
  } = {},
): Promise<GatewayProcess> {
  // A restart on the same data folder keeps its config folder (settings, audit key, control file) beside it.
  const dir = options.dataDir ? `${options.dataDir}.config` : fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-'));
  fs.mkdirSync(dir, { recursive: true });
  const dataDir = options.dataDir ?? path.join(dir, 'data');
  const settingsFile = path.join(dir, 'settings.json');
  // 0600: the runner refuses a settings file others may read while it holds the destination password.
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2), { mode: 0o600 });
  fs.chmodSync(settingsFile, 0o600);
  const databaseKey = options.databaseKey ?? crypto.randomBytes(32).toString('hex');
  const command: [string, string[]] = [path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'src/main/headless/cli.ts'), '--settings', settingsFile, '--data-dir', dataDir, '--ui-port', String(options.uiPort ?? 0)]];
  const [file, args] = options.wrap ? options.wrap(...command) : command;
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env, DEID_GATEWAY_DB_KEY: databaseKey },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so kill() reaches the node process tsx starts, not only tsx.
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('gateway ready line', () => {
    if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}:\n${out}`);
    return /\bready\b/.test(out) ? true : undefined;
  }, 60_000);
  return {
    child,
    dataDir,
    settingsFile,
    databaseKey,
    output: () => out,
    uiUrl: () => {
      const url = /^ui: open (\S+)$/m.exec(out)?.[1];
      if (!url) throw new Error(`the gateway printed no ui address:\n${out}`);
      return url;
    },
    uiOrigin: () => (JSON.parse(fs.readFileSync(path.join(dir, 'ui-control.json'), 'utf8')) as { origin: string }).origin,
    controlToken: () => (JSON.parse(fs.readFileSync(path.join(dir, 'ui-control.json'), 'utf8')) as { token: string }).token,
    async openAddress() {
      const { stdout } = await run(process.execPath, [path.join(ROOT, 'scripts/open.mjs'), '--settings', settingsFile, '--print']);
      return stdout.trim();
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      process.kill(-child.pid!, 'SIGKILL');
      await done;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited(child);
    },
  };
}
