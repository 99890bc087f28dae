import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
// @ts-expect-error: a plain ESM script without type declarations
import beforePack, { writeThirdPartyLicenses } from '../../scripts/third-party-licenses.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { license: string; dependencies: Record<string, string> };

/**
 * The production packages as npm recorded them in package-lock.json (every entry not marked dev), where installed:
 * an independent account of what the app ships, to hold the script's own walk of node_modules against.
 */
function productionPackagesFromLock(): Set<string> {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean; optional?: boolean }>;
  };
  const names = new Set<string>();
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!where || entry.dev || entry.devOptional) continue;
    // Optional packages for other platforms (esbuild's, fsevents) are in the lock but not installed here.
    if (entry.optional && !fs.existsSync(path.join(ROOT, where, 'package.json'))) continue;
    names.add(`${where.replace(/^.*node_modules\//, '')}@${entry.version}`);
  }
  return names;
}

describe('THIRD-PARTY-LICENSES.txt for the packaged app', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'licenses-')), 'THIRD-PARTY-LICENSES.txt');
  const { packages } = writeThirdPartyLicenses(out) as { packages: Array<{ name: string; version: string; license: string }> };
  const text = fs.readFileSync(out, 'utf8');
  const listed = new Set(
    text
      .split('\n')
      .filter((l) => /^\S+ \| \S+ \| .+$/.test(l) && !l.startsWith('Package |'))
      .map((l) => l.split(' | ').slice(0, 2).join('@')),
  );

  it('is written, naming the app\'s own license', () => {
    expect(text).toContain(`licensed under ${manifest.license}`);
    expect(manifest.license).toBe('Apache-2.0');
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0, January 2004');
  });

  it('names every direct production dependency', () => {
    const names = new Set([...listed].map((k) => k.slice(0, k.lastIndexOf('@'))));
    const missing = Object.keys(manifest.dependencies).filter((d) => !names.has(d));
    expect(missing).toEqual([]);
  });

  it('names every package of the production tree that package-lock.json records, and no development-only package', () => {
    const expected = productionPackagesFromLock();
    expect(expected.size).toBeGreaterThan(Object.keys(manifest.dependencies).length);
    expect([...expected].filter((p) => !listed.has(p)), 'in the lock as production, missing from the list').toEqual([]);
    expect([...listed].filter((p) => !expected.has(p)), 'listed but not a production package in the lock').toEqual([]);
    expect(listed.has(`vitest@${JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/vitest/package.json'), 'utf8')).version}`)).toBe(false);
  });

  it('gives each package its declared license and the license text it ships', () => {
    // Packages that declare no license at all, each with why it is bundled: a legal check must clear or replace it.
    const UNDECLARED: Record<string, string> = {
      buffers: 'exceljs → unzipper → binary → buffers 0.1.1 declares no license; it serves reading xlsx files, which the gateway never does',
    };
    expect(packages.filter((p) => (!p.license || p.license === 'UNKNOWN') && !UNDECLARED[p.name]).map((p) => p.name)).toEqual([]);
    // dcmjs-dimse ships LICENSE.txt (MIT): its text must be in the file under its heading.
    const dimse = text.indexOf('dcmjs-dimse 0.');
    expect(dimse).toBeGreaterThan(0);
    expect(text.slice(dimse, dimse + 3000)).toMatch(/--- LICENSE\.txt\n[\s\S]*Permission is hereby granted/);
  });

  it('is produced before packing and shipped in the app\'s resources (electron-builder.yml)', () => {
    const config = fs.readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(config).toMatch(/^beforePack: scripts\/third-party-licenses\.mjs$/m);
    expect(config).toMatch(/from: dist\/THIRD-PARTY-LICENSES\.txt, to: THIRD-PARTY-LICENSES\.txt/);
    expect(config).toMatch(/from: LICENSE, to: LICENSE\.txt/);
  });

  it('electron-builder\'s own hook loader finds the script\'s hook', async () => {
    const { resolveFunction } = require('app-builder-lib/out/util/resolve.js') as {
      resolveFunction(type: string, executor: string, name: string, root: string): Promise<unknown>;
    };
    const hook = await resolveFunction('beforePack', 'scripts/third-party-licenses.mjs', 'beforePack', ROOT);
    // Loaded natively by electron-builder, through vitest here: two instances of the same module's default export.
    expect(typeof hook).toBe('function');
    expect((hook as { name: string }).name).toBe((beforePack as { name: string }).name);
    expect((hook as { name: string }).name).toBe('beforePack');
  });
});
