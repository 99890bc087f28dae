// Bundles the Node side: the Electron main process and the headless runner (ESM, our sources bundled, npm
// packages left to node_modules so the native SQLite module loads from outside the asar), and the sandboxed
// preload (one CommonJS file, as a sandboxed preload cannot load modules). The bundled runner starts without
// tsx's on-the-fly compiler: about 85 MB less memory for a clinic server running it as a service.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, platform: 'node', target: 'node22', sourcemap: true, logLevel: 'warning', absWorkingDir: root };

await build({
  ...common,
  entryPoints: ['src/main/electron/main.ts'],
  outfile: 'dist/main/electron/main.js',
  format: 'esm',
  packages: 'external',
});
await build({
  ...common,
  entryPoints: ['src/main/headless/cli.ts'],
  outfile: 'dist/main/headless/cli.js',
  format: 'esm',
  packages: 'external',
});
// The burned-in text screening thread (core/screen/pool.ts starts it from beside the bundle that uses it).
await build({
  ...common,
  entryPoints: ['src/main/core/screen/worker.ts'],
  outfile: 'dist/main/screen-worker.js',
  format: 'esm',
  packages: 'external',
});
await build({
  ...common,
  entryPoints: ['src/main/preload/preload.ts'],
  outfile: 'dist/main/preload/preload.cjs',
  format: 'cjs',
  external: ['electron'],
  // It carries the contract's schemas (for the method names); small is quick to load in every window.
  minify: true,
});
console.log('built dist/main/electron/main.js, dist/main/headless/cli.js, dist/main/screen-worker.js and dist/main/preload/preload.cjs');
