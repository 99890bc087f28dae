import { setTimeout, clearTimeout } from 'node:timers';
// postinstall of this project: fetch the Electron runtime where it can be fetched, and carry on where it cannot.
// Electron's own postinstall is denied in package.json "allowScripts" (npm 11 skips denied scripts), because it
// downloads from GitHub and fails the whole `npm ci` on networks that block GitHub, as many hospital networks do.
// Here a failure (or two minutes without an answer) is only a note: `npm start` then runs the gateway headless.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const installer = path.join(root, 'node_modules/electron/install.js');
const TIMEOUT_MS = 120_000;

// A production install (no dev dependencies) has no electron to fetch a runtime for.
if (!fs.existsSync(installer)) process.exit(0);

const child = spawn(process.execPath, [installer], { cwd: path.dirname(installer), stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => (stderr += d.toString()));
const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS);
child.on('error', (error) => (stderr += error.message));
child.on('close', (code, signal) => {
  clearTimeout(timer);
  if (code === 0) process.exit(0);
  const reason = signal ? `no answer within ${TIMEOUT_MS / 1000} s` : (/\b(E[A-Z]+|HTTPError[^\n]*|RequestError[^\n]*)/.exec(stderr)?.[0] ?? `exit code ${code}`);
  console.log(`The Electron runtime could not be downloaded (${reason}); the install goes on without it.`);
  console.log('"npm start" runs the gateway headless, with its screens in the browser. For the desktop app later, where GitHub is reachable: node node_modules/electron/install.js');
  process.exit(0);
});
