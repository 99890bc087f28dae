import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEBIAN_PYTHON } from './dicom-tools';
import { run } from './processes';

const GENERATOR = path.resolve(import.meta.dirname, '../fixtures/generate-burned-in.py');

export interface BurnedInText {
  text: string;
  kind: 'phi' | 'marker' | 'other';
  box: [number, number, number, number];
}

export interface BurnedInFile {
  file: string;
  path: string;
  case: 'phi' | 'marker' | 'clean' | 'other' | 'dim' | 'inverted';
  burnedIn: string | null;
  needles: [name: string, id: string, birthDate: string, institution: string];
  texts: BurnedInText[];
}

/** Generates the mammograms with burned-in text (test/fixtures/generate-burned-in.py) into a new folder. */
export async function generateBurnedIn(args: string[] = []): Promise<{ dir: string; files: BurnedInFile[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burned-in-'));
  await run(DEBIAN_PYTHON, [GENERATOR, '--out', dir, ...args]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: Array<Omit<BurnedInFile, 'path'>> };
  return { dir, files: manifest.files.map((f) => ({ ...f, path: path.join(dir, f.file) })) };
}

/** Compressions a mammography unit may send, made by dcmtk and GDCM (independent encoders). */
export const COMPRESSIONS = {
  rle: (from: string, to: string) => run('dcmcrle', [from, to]),
  jpegLossless: (from: string, to: string) => run('dcmcjpeg', ['--encode-lossless-sv1', from, to]),
  jpegLs: (from: string, to: string) => run('dcmcjpls', [from, to]),
  jpeg2000: (from: string, to: string) => run('gdcmconv', ['--j2k', from, to]),
} as const;

/**
 * What an independent OCR (Debian's tesseract, not the gateway's tesseract.js) reads in an image: dcmtk renders it
 * (dcmj2pnm) twice — with the window spanning its pixel values, and with a window over the dark end where dim text
 * in the air stands out — and tesseract reads both PNGs.
 */
export async function independentOcr(file: string): Promise<string> {
  let read = '';
  for (const [name, window] of [['full', ['--min-max-window']], ['dark', ['--set-window', '400', '800']]] as const) {
    const png = `${file}.${name}.png`;
    await run('dcmj2pnm', ['--write-png', ...window, file, png]);
    read += (await run('tesseract', [png, '-'], { allowFailure: true })).stdout;
    fs.rmSync(png, { force: true });
  }
  return read;
}

/** Upper case, accents folded, anything but letters and digits dropped: for comparing what OCR read. */
export const compact = (text: string): string => text.normalize('NFKD').replace(/\p{M}/gu, '').toUpperCase().replace(/[^A-Z0-9]/g, '');
