import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RENDERER_INDEX = path.join(ROOT, 'dist/renderer/index.html');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return latest;
}

/** Builds the screens with vite unless dist/renderer is newer than every source they are built from. */
export async function ensureRendererBuilt(): Promise<void> {
  const sources = Math.max(newest(path.join(ROOT, 'src/renderer')), newest(path.join(ROOT, 'src/shared')), fs.statSync(path.join(ROOT, 'vite.config.ts')).mtimeMs);
  if (fs.existsSync(RENDERER_INDEX) && fs.statSync(RENDERER_INDEX).mtimeMs > sources) return;
  await run(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--config', path.join(ROOT, 'vite.config.ts')]);
}
