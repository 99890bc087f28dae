import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { CONTENT_SECURITY_POLICY_META } from './src/shared/csp';

/**
 * The CSP as a <meta> in the built index.html: the desktop window loads it from file://, where no response header
 * can carry one. Build only: vite's dev server injects inline scripts the policy would rightly block.
 */
const contentSecurityPolicyMeta = (): Plugin => ({
  name: 'content-security-policy-meta',
  apply: 'build',
  transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY_META }, injectTo: 'head-prepend' }],
});

// The screens: built from src/renderer into dist/renderer, which the headless runner and the desktop window load.
export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  // Relative asset paths: the same build loads from the headless server (/) and from a file:// URL in Electron.
  base: './',
  plugins: [react(), contentSecurityPolicyMeta()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // No eval and no inline scripts: the page's Content-Security-Policy allows only its own files.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  logLevel: 'warn',
});
