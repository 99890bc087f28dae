// `npm run open`: opens the running gateway's screens in the browser with a new one-time address. The control
// token comes from the gateway's 0600 control file and travels only in a request header; the address handed to
// the browser (and so to xdg-open's command line) works once, for two minutes, and is useless after that.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { URL } from 'node:url';

const { fetch } = globalThis;

const USAGE = `Usage: npm run open -- [--settings FILE | --control-file FILE] [--print]

  --settings FILE      the running gateway's settings file (its control file is beside it)
  --control-file FILE  the control file itself (default: ui-control.json in the config folder)
  --print              print the one-time address instead of opening a browser`;

/** The config folder, as src/main/headless/paths.ts has it. */
function defaultConfigDir() {
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'deid-gateway');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Preferences', 'deid-gateway');
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'deid-gateway');
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

function openBrowser(url) {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  return true;
}

let values;
try {
  ({ values } = parseArgs({ options: { settings: { type: 'string' }, 'control-file': { type: 'string' }, print: { type: 'boolean' }, help: { type: 'boolean' } } }));
} catch (error) {
  fail(`${error.message}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const controlFile = path.resolve(values['control-file'] ?? path.join(values.settings ? path.dirname(path.resolve(values.settings)) : defaultConfigDir(), 'ui-control.json'));
if (!fs.existsSync(controlFile)) {
  fail(`The gateway is not running (no ${controlFile}): start it with "npm start"; the desktop app opens from its tray icon.`);
}
if (process.platform !== 'win32' && (fs.statSync(controlFile).mode & 0o077) !== 0) {
  fail(`${controlFile} may be read by others: it is not used. Stop the gateway, remove the file, and start it again.`);
}
const control = JSON.parse(fs.readFileSync(controlFile, 'utf8'));
let answer;
try {
  const response = await fetch(new URL('/control/one-time-address', control.origin), { method: 'POST', headers: { 'X-Gateway-Token': control.token } });
  answer = await response.json();
} catch {
  fail(`The gateway does not answer at ${control.origin}: start it with "npm start" (it may have stopped without removing ${controlFile}).`);
}
if (!answer?.ok) fail(`The gateway refused: ${answer?.error?.message ?? 'no reason given'} (is ${controlFile} from the gateway running now?)`);
const url = answer.value.url;
if (values.print || !openBrowser(url)) {
  if (!values.print) console.error('No desktop here to open a browser in: open this address on this computer within two minutes.');
  console.log(url);
} else {
  console.log(`Opened the screens (${control.origin}) in your browser.`);
}
