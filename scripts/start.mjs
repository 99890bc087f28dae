// `npm start`: the Electron tray app where its runtime is installed; otherwise the same core, headless.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    // The electron package exports the path of its runtime, and throws when the download failed.
    const binary = require('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

const electronMain = path.join(root, 'dist/main/electron/main.js');
const binary = electronBinary();
let child;
if (binary && fs.existsSync(electronMain)) {
  child = spawn(binary, [root], { stdio: 'inherit' });
} else {
  const why = binary ? 'the desktop shell is not built (dist/main/electron/main.js is missing)' : 'the Electron runtime is not installed on this machine';
  console.log(`Starting the gateway headless, because ${why}.`);
  const tsx = path.join(root, 'node_modules/.bin/tsx');
  child = spawn(tsx, [path.join(root, 'src/main/headless/start.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
