import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The screens: built from src/renderer into dist/renderer, which the headless runner (and later Electron) serves.
export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  // Relative asset paths: the same build loads from the headless server (/) and from a file:// URL in Electron.
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // No eval and no inline scripts: the page's Content-Security-Policy allows only its own files.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  logLevel: 'warn',
});
