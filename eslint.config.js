import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'crypto', 'net', 'http', 'https', 'child_process', 'stream', 'zlib', 'events', 'util', 'url'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-artifacts/**', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Layers (STYLE.md §1): where code may run is visible from its folder, and enforced here.
  {
    files: ['src/shared/**/*.ts', 'src/shared/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['electron', ...nodeBuiltins, '**/main/**', '**/renderer/**'], message: 'src/shared is pure TypeScript: no Node, Electron or other layers.' }] }],
    },
  },
  {
    files: ['src/main/core/**/*.ts', 'src/main/headless/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['electron', 'electron/*', '**/electron/**', '**/renderer/**'], message: 'The core and the headless runner never import Electron or the renderer.' }] }],
    },
  },
  {
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['electron', ...nodeBuiltins, '**/main/**'], message: 'The renderer reaches the core only through the typed API in src/shared.' }] }],
    },
  },
  {
    files: ['src/main/core/**/*.ts', 'src/main/headless/**/*.ts', 'src/shared/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['src/main/headless/cli.ts', 'src/main/headless/start.ts', 'src/main/headless/crosswalk-cli.ts', 'src/main/headless/import-cli.ts'],
    rules: { 'no-console': 'off' },
  },
);
