// `npm start`: the Electron tray app where its runtime is installed; otherwise the same core, headless, with the
// screens opened in the browser (pass --no-browser to only print their address).
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function electronBinary() {
  try {
    // The electron package exports the path of its runtime, and throws when the download failed.
    const binary = require('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

function build(script) {
  console.log(`Building (${script})…`);
  const result = spawnSync(npm, ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Opens `url` in the desktop's browser, where there is a desktop; quietly does nothing elsewhere. */
function openBrowser(url) {
  const opener = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  const child = spawn(opener[0], opener[1], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  return true;
}

const args = process.argv.slice(2);
const binary = electronBinary();
let child;
if (binary) {
  build('build');
  console.log('Starting the desktop app (tray icon; closing its window keeps it running).');
  child = spawn(binary, [root, ...args], { stdio: 'inherit' });
} else {
  console.log('The Electron runtime is not installed on this machine, so the gateway starts headless, with its screens in your browser.');
  build('build:renderer');
  const noBrowser = args.includes('--no-browser');
  const tsx = path.join(root, 'node_modules/.bin/tsx');
  child = spawn(tsx, [path.join(root, 'src/main/headless/start.ts'), ...args.filter((a) => a !== '--no-browser')], { stdio: ['inherit', 'pipe', 'inherit'] });
  let opened = noBrowser;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const url = !opened && /ui: open (\S+)/.exec(chunk.toString())?.[1];
    if (url) {
      opened = true;
      if (!openBrowser(url)) console.log('No desktop here to open a browser in: open the address above on this computer.');
    }
  });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
