// Writes THIRD-PARTY-LICENSES.txt: every npm package the packaged app ships (the production dependency tree,
// resolved the way Node resolves it from node_modules), with its version, declared license and license text.
//
//   node scripts/third-party-licenses.mjs [--out FILE]     (default: dist/THIRD-PARTY-LICENSES.txt)
//
// electron-builder runs it before packing (beforePack in electron-builder.yml) and copies the file into the
// app's resources folder (extraResources), so every installed copy carries the notices its licenses ask for.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT = path.join(ROOT, 'dist', 'THIRD-PARTY-LICENSES.txt');

const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

/** The directory of `name` as Node would find it from `fromDir`: the nearest node_modules up the tree. */
function resolvePackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function declaredLicense(manifest) {
  if (typeof manifest.license === 'string') return manifest.license;
  if (manifest.license && typeof manifest.license.type === 'string') return manifest.license.type;
  // The old `licenses: [{ type }]` form, still found in a few packages.
  if (Array.isArray(manifest.licenses)) return manifest.licenses.map((l) => (typeof l === 'string' ? l : l.type)).join(' OR ');
  return 'UNKNOWN';
}

function licenseTexts(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => LICENSE_FILE.test(f) && fs.statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), 'utf8').trim() }));
}

/** Every package of the production tree (dependencies and installed optional dependencies, never dev ones). */
export function productionPackages(root = ROOT) {
  const rootManifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const found = new Map();
  const queue = [{ manifest: rootManifest, dir: root }];
  while (queue.length > 0) {
    const { manifest, dir } = queue.shift();
    const wanted = { ...(manifest.optionalDependencies ?? {}), ...(manifest.dependencies ?? {}) };
    for (const name of Object.keys(wanted).sort()) {
      const packageDir = resolvePackageDir(name, dir);
      if (!packageDir) {
        if (manifest.optionalDependencies?.[name]) continue; // an optional dependency not installed on this platform
        throw new Error(`${name}, a dependency of ${manifest.name ?? 'the app'}, is not installed (run npm ci)`);
      }
      const child = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
      const key = `${child.name}@${child.version}`;
      if (found.has(key)) continue;
      found.set(key, { name: child.name, version: child.version, license: declaredLicense(child), homepage: child.homepage, dir: packageDir });
      queue.push({ manifest: child, dir: packageDir });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

export function renderLicenses(packages, appManifest) {
  const lines = [
    `Third-party software in ${appManifest.name} ${appManifest.version}`,
    '',
    `${appManifest.name} itself is licensed under ${appManifest.license} (see LICENSE).`,
    'It bundles the npm packages below, each under its own license. The Electron runtime and Chromium are',
    'covered by LICENSE.electron.txt and LICENSES.chromium.html, which electron-builder places beside the app.',
    '',
    'Package | Version | License',
    ...packages.map((p) => `${p.name} | ${p.version} | ${p.license}`),
    '',
  ];
  for (const p of packages) {
    lines.push('='.repeat(100), `${p.name} ${p.version} (${p.license})${p.homepage ? ` ${p.homepage}` : ''}`, '='.repeat(100));
    const texts = licenseTexts(p.dir);
    if (texts.length === 0) lines.push(`No license file is shipped in the package; its package.json declares: ${p.license}.`);
    for (const { file, text } of texts) lines.push(`--- ${file}`, text);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

export function writeThirdPartyLicenses(out = DEFAULT_OUT, root = ROOT) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const packages = productionPackages(root);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, renderLicenses(packages, manifest));
  return { out, packages };
}

/** electron-builder's beforePack hook. */
export default async function beforePack() {
  writeThirdPartyLicenses();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const { out, packages } = writeThirdPartyLicenses(at > 0 ? path.resolve(process.argv[at + 1]) : DEFAULT_OUT);
  console.log(`${path.relative(process.cwd(), out)}: ${packages.length} packages`);
}
