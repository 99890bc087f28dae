import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, run, waitFor } from '../test/support/processes';
import { freePort } from '../test/support/ports';
import { dealOut } from '../test/support/load';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/** Peak resident set size of a process so far (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU seconds a process has used so far, user and system (/proc/PID/stat, in clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Idle CPU seconds of the whole machine so far, all cores (iowait included): where it stays near 0, CPU is the limit. */
export function machineIdleSeconds(): number {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (fields[3]! + fields[4]!) / 100;
}

export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export interface BenchGateway {
  child: ChildProcess;
  dataDir: string;
  databaseKey: string;
  peakRssMb(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

let built = false;

/**
 * The headless runner as a clinic server runs it: the bundle `npm run build:main` writes, in its own Node
 * process (no tsx compiler in it), so its pid and memory are the gateway's.
 */
export async function startBenchGateway(settings: Record<string, unknown>): Promise<BenchGateway> {
  if (!built) {
    await run(process.execPath, [path.join(ROOT, 'scripts/build-main.mjs')]);
    built = true;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gw-'));
  const settingsFile = path.join(dir, 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify(settings));
  const dataDir = path.join(dir, 'data');
  const databaseKey = crypto.randomBytes(32).toString('hex');
  // BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist/main/headless/cli.js'), '--settings', settingsFile, '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, DEID_GATEWAY_DB_KEY: databaseKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  await waitFor('bench gateway ready', () => {
    if (child.exitCode !== null) throw new Error(out);
    return /\bready\b/.test(out) ? true : undefined;
  }, 60_000);
  return {
    child,
    dataDir,
    databaseKey,
    peakRssMb: () => peakRssMb(child.pid!),
    cpuSeconds: () => cpuSeconds(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function generate(args: string[]): Promise<{ dir: string; files: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-'));
  await run('/usr/bin/python3', [path.join(ROOT, 'test/fixtures/generate-mammograms.py'), '--out', dir, '--quiet', '--no-verify', ...args]);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(dir, f));
  return { dir, files };
}

export async function storescu(port: number, files: string[], calledAe: string): Promise<void> {
  // storescu takes a directory with +sd; a long argument list is fine too, but stays under ARG_MAX this way.
  await run('storescu', ['-aec', calledAe, '-aet', 'BENCH_SCU', '127.0.0.1', String(port), ...files]);
}

/** `n` storescu associations at once, the files dealt out between them (as a sender with several threads does). */
export async function storescuParallel(port: number, files: string[], calledAe: string, n: number): Promise<void> {
  await Promise.all(dealOut(files, n).map((group) => storescu(port, group, calledAe)));
}

/** Milliseconds for storescu to send `files` to dcmtk's storescp (writing them to a scratch folder). */
export async function intoStorescp(files: string[]): Promise<number> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storescp-'));
  const child = spawn('storescp', ['-od', dir, '-aet', 'STORESCP', String(port)], { stdio: 'ignore' });
  try {
    await waitFor('storescp listening', () => new Promise<boolean | undefined>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(undefined));
    }), 10_000, 50);
    const start = performance.now();
    await storescu(port, files, 'STORESCP');
    return performance.now() - start;
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
