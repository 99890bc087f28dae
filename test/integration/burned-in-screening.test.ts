import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScreeningPool, type ScreeningPool } from '../../src/main/core/screen/pool';
import { DEFAULT_SCREENING } from '../../src/main/core/screen/screen';
import type { ScreeningJob } from '../../src/main/core/screen/screen-file';
import { COMPRESSIONS, compact, generateBurnedIn, independentOcr, type BurnedInFile } from '../support/burned-in';
import { DEBIAN_PYTHON } from '../support/dicom-tools';
import { run } from '../support/processes';

let corpus: { dir: string; files: BurnedInFile[] };
let pool: ScreeningPool;

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const byCase = (c: BurnedInFile['case'], burnedIn: string | null = null): BurnedInFile => corpus.files.find((f) => f.case === c && f.burnedIn === burnedIn)!;

function jobFor(f: BurnedInFile, file: string, options = DEFAULT_SCREENING): ScreeningJob {
  const [name, id, birthDate, institution] = f.needles;
  return { file, identifying: { names: [name], ids: [id], dates: [birthDate], institutions: [institution] }, options };
}

/** A working copy (the job replaces its file when it redacts). */
function copyOf(f: BurnedInFile, suffix = ''): string {
  const to = path.join(corpus.dir, `work-${suffix}${f.file}`);
  fs.copyFileSync(f.path, to);
  return to;
}

/** The identifying words written into the pixels, as an OCR would compare them. */
const identifyingWords = (f: BurnedInFile): string[] =>
  f.texts.filter((t) => t.kind === 'phi').flatMap((t) => t.text.split(/[\s,]+/)).map(compact).filter((w) => w.length >= 4 && !['DOB', 'MRN'].includes(w));

beforeAll(async () => {
  corpus = await generateBurnedIn();
  pool = createScreeningPool(1);
});

afterAll(async () => {
  await pool?.close();
  if (corpus) fs.rmSync(corpus.dir, { recursive: true, force: true });
});

describe('burned-in text in mammograms', () => {
  it('is blacked out where it identifies the patient, the header says so, and an independent OCR reads none of it afterwards', async () => {
    for (const f of corpus.files.filter((x) => ['phi', 'dim', 'inverted'].includes(x.case))) {
      const words = identifyingWords(f);
      // The check below can fail: the same independent OCR reads the identifying words in the input.
      const before = compact(await independentOcr(f.path));
      expect(words.some((w) => before.includes(w)), `${f.file}: Debian's tesseract reads the burned-in text of the input`).toBe(true);

      const file = copyOf(f);
      const outcome = await pool.screen(jobFor(f, file));
      expect(outcome.result, f.file).toBe('redacted');
      const after = compact(await independentOcr(file));
      expect(words.filter((w) => after.includes(w)), `${f.file}: identifying words still readable`).toEqual([]);

      const { stdout } = await run('dcmdump', ['+P', 'BurnedInAnnotation', '+P', 'CodeValue', file]);
      expect(stdout).toMatch(/\(0028,0301\) CS \[NO\]/);
      expect(stdout).toContain('[113101]');
      // Only pixels inside the reported regions changed (pydicom compares, not the gateway's own parser).
      const check = await run(DEBIAN_PYTHON, ['-c', OUTSIDE_UNCHANGED, f.path, file, JSON.stringify(outcome.result === 'redacted' ? outcome.redactions : [])]);
      expect(check.stdout.trim(), f.file).toBe('outside unchanged');
    }
  });

  it('leaves clean and marker-only images byte-identical', async () => {
    for (const f of [byCase('clean'), byCase('clean', 'NO'), byCase('marker')]) {
      const file = copyOf(f);
      const outcome = await pool.screen(jobFor(f, file));
      expect(outcome.result, f.file).toBe('clean');
      expect(sha256(file), f.file).toBe(sha256(f.path));
    }
    const marker = await pool.screen(jobFor(byCase('marker'), copyOf(byCase('marker'), 'again-')));
    expect(marker.found.map((x) => [x.kind, compact(x.text)])).toEqual([['harmless', compact(byCase('marker').texts[0]!.text)]]);
  });

  it('treats other readable text by the setting: blacked out by default, held on "hold", left on "keep"', async () => {
    const other = byCase('other');
    expect((await pool.screen(jobFor(other, copyOf(other, 'redact-')))).result).toBe('redacted');
    const held = await pool.screen(jobFor(other, copyOf(other, 'hold-'), { ...DEFAULT_SCREENING, otherText: 'hold' }));
    expect(held.result).toBe('hold');
    const keptFile = copyOf(other, 'keep-');
    expect((await pool.screen(jobFor(other, keptFile, { ...DEFAULT_SCREENING, otherText: 'keep' }))).result).toBe('clean');
    expect(sha256(keptFile)).toBe(sha256(other.path));
  });

  it('blacks out identifying text in RLE images in their own syntax (decoded and encoded again), checked by dcmtk and pydicom', async () => {
    const phi = byCase('phi');
    const file = path.join(corpus.dir, `rle-${phi.file}`);
    await COMPRESSIONS.rle(phi.path, file);
    const outcome = await pool.screen(jobFor(phi, file));
    expect(outcome.result).toBe('redacted');
    const { stdout } = await run('dcmdump', ['+P', 'TransferSyntaxUID', file]);
    expect(stdout).toContain('RLELossless');
    // dcmtk decodes our RLE (an independent decoder), and only pixels inside the regions changed (pydicom decodes too).
    const decoded = path.join(corpus.dir, `rle-decoded-${phi.file}`);
    await run('dcmdrle', [file, decoded]);
    const check = await run(DEBIAN_PYTHON, ['-c', OUTSIDE_UNCHANGED, phi.path, decoded, JSON.stringify(outcome.result === 'redacted' ? outcome.redactions : [])]);
    expect(check.stdout.trim()).toBe('outside unchanged');
    const read = compact(await independentOcr(decoded));
    expect(identifyingWords(phi).filter((w) => read.includes(w))).toEqual([]);
  });

  it('finds identifying text in the other compressed syntaxes, and holds those images (they cannot be re-encoded here) while clean ones pass unchanged', async () => {
    const phi = byCase('phi');
    const clean = byCase('clean');
    for (const [name, compress] of Object.entries(COMPRESSIONS)) {
      if (name === 'rle') continue;
      const phiFile = path.join(corpus.dir, `${name}-${phi.file}`);
      await compress(phi.path, phiFile);
      const outcome = await pool.screen(jobFor(phi, phiFile));
      expect(outcome.result, name).toBe('hold');
      expect(outcome.found.filter((x) => x.kind === 'identifying').length, name).toBeGreaterThanOrEqual(2);
    }
    for (const [name, compress] of Object.entries(COMPRESSIONS)) {
      const cleanFile = path.join(corpus.dir, `${name}-${clean.file}`);
      await compress(clean.path, cleanFile);
      const digest = sha256(cleanFile);
      expect((await pool.screen(jobFor(clean, cleanFile))).result, name).toBe('clean');
      expect(sha256(cleanFile), name).toBe(digest);
    }
  });

  it('blacks out a device rule\'s region on an image where OCR finds nothing, and only there', async () => {
    const clean = byCase('clean');
    const file = copyOf(clean, 'rule-');
    const region = { x0: 0, y0: 0, x1: 400, y1: 120 };
    const outcome = await pool.screen({ ...jobFor(clean, file), alwaysRedact: [region] });
    expect(outcome.result).toBe('redacted');
    const check = await run(DEBIAN_PYTHON, ['-c', OUTSIDE_UNCHANGED, clean.path, file, JSON.stringify([region])]);
    expect(check.stdout.trim()).toBe('outside unchanged');
    const inside = await run(DEBIAN_PYTHON, ['-c', 'import sys, pydicom; a = pydicom.dcmread(sys.argv[1]).pixel_array; print(int(a[0:120, 0:400].max()))', file]);
    expect(inside.stdout.trim()).toBe('0');
  });

  it('reads text with no network at all (the language data comes from node_modules)', async () => {
    const probe = await run('unshare', ['-n', 'true'], { allowFailure: true });
    if (probe.code !== 0) {
      console.log(`skipped: no-network check — cannot create a network namespace here (${probe.stderr.trim()})`);
      return;
    }
    const f = byCase('phi');
    const script = path.join(corpus.dir, 'offline.mts');
    fs.writeFileSync(script, OFFLINE_SCRIPT.replaceAll('__SRC__', path.resolve('src/main/core/screen')));
    const { stdout } = await run('unshare', ['-n', process.execPath, '--import', 'tsx', script, f.path], { env: { ...process.env, NODE_OPTIONS: '' } });
    const read = compact(stdout);
    expect(identifyingWords(f).some((w) => read.includes(w))).toBe(true);
  });
});

/** pydicom: every pixel that differs between input and output lies inside one of the boxes. */
const OUTSIDE_UNCHANGED = `
import sys, json
import numpy as np
import pydicom
a = pydicom.dcmread(sys.argv[1]).pixel_array
b = pydicom.dcmread(sys.argv[2]).pixel_array
inside = np.zeros(a.shape, dtype=bool)
for box in json.loads(sys.argv[3]):
    inside[box['y0']:box['y1'], box['x0']:box['x1']] = True
changed = a != b
print('outside unchanged' if not (changed & ~inside).any() and changed.any() else 'changed outside or nothing changed')
`;

/** Runs in a network namespace with no interface up: any download attempt would fail the read. */
const OFFLINE_SCRIPT = `
import fs from 'node:fs';
import { loadCodecs, openImage } from '__SRC__/raster';
import { findTextCandidates } from '__SRC__/triage';
import { createOcrReader } from '__SRC__/ocr';
await loadCodecs();
const gray = openImage(fs.readFileSync(process.argv[2])).render(0);
const triage = findTextCandidates(gray);
const reader = await createOcrReader();
for (const c of triage.candidates) console.log((await reader.read(gray, c, triage.brightBackground)).map((w) => w.text).join(' '));
await reader.close();
`;
