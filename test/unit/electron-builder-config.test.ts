import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
interface BuilderConfig {
  appId: string;
  directories: { buildResources: string };
  win: { target: string | string[] };
  mac: { target: string | string[] };
  linux: { target: string[] };
  npmRebuild: boolean;
  asarUnpack: string[];
  files: unknown;
  electronFuses?: Record<string, boolean>;
}

// electron-builder's own loader and schema check (what `electron-builder` runs before it builds anything).
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<BuilderConfig>;
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(): void }): Promise<void>;
};

/**
 * `electron-builder --dir` needs the Electron runtime, which cannot be downloaded here; the packaging config is
 * checked instead with electron-builder's own validation, plus what this app needs of it.
 */
describe('packaging config (electron-builder.yml)', () => {
  it('passes electron-builder\'s own schema check', async () => {
    const config = await getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
    await expect(validateConfiguration(config, { isEnabled: false, add() {} })).resolves.toBeUndefined();
  });

  it('builds an NSIS installer, a dmg, an AppImage and a deb, with the app id and icon', async () => {
    const config = await getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
    expect(config.appId).toMatch(/^[a-z0-9]+(\.[a-z0-9]+)+$/);
    expect(config.win.target).toContain('nsis');
    expect(config.mac.target).toContain('dmg');
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(fs.existsSync(path.join(ROOT, config.directories.buildResources, 'icon.png'))).toBe(true);
    for (const state of ['idle', 'receiving', 'backlog', 'error']) expect(fs.existsSync(path.join(ROOT, 'resources/tray', `${state}.png`))).toBe(true);
  });

  it('rebuilds the native SQLite module for Electron and keeps it outside the asar', async () => {
    const config = await getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
    expect(config.npmRebuild).toBe(true);
    expect(config.asarUnpack).toEqual(expect.arrayContaining([expect.stringContaining('better-sqlite3-multiple-ciphers')]));
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.dependencies['better-sqlite3-multiple-ciphers']).toBeDefined();
    expect(pkg.main).toBe('dist/main/electron/main.js');
    // What the packaged app loads is what the build script writes, and the files list ships it.
    expect(pkg.scripts.dist).toMatch(/build.*electron-builder/);
    const files = JSON.stringify(config.files);
    expect(files).toContain('dist/**');
    expect(files).toContain('resources/tray');
  });

  it('flips the Electron fuses that would let someone run other code with the app\'s rights', async () => {
    const config = await getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
    // The loaded config, as electron-builder hands it to @electron/fuses after packing.
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: true,
    });
  });
});
