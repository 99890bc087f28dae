import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { exited, waitFor } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  dataDir: string;
  settingsFile: string;
  databaseKey: string;
  /** Everything the process printed so far. */
  output(): string;
  /** The screens' address with its token, as the runner printed it ("ui: open http://127.0.0.1:…/?token=…"). */
  uiUrl(): string;
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
    /** More environment for the runner (NODE_OPTIONS, say). */
    env?: Record<string, string>;
    /** Runs the runner through another command (a memory cap): gets the command and arguments, gives the ones to spawn. */
    wrap?: (command: string, args: string[]) => [string, string[]];
  } = {},
): Promise<GatewayProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-'));
  const dataDir = options.dataDir ?? path.join(dir, 'data');
  const settingsFile = path.join(dir, 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  const databaseKey = options.databaseKey ?? crypto.randomBytes(32).toString('hex');
  const command: [string, string[]] = [path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'src/main/headless/cli.ts'), '--settings', settingsFile, '--data-dir', dataDir]];
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
