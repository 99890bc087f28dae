import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEBIAN_PYTHON } from './dicom-tools';
import { run } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Needle {
  value: string;
  /** What kind of identifying value it is (patient-name, staff-id, written-date, pdf-text …), for the report. */
  class: string;
  where: string;
}

export interface CorpusFile {
  name: string;
  /** The file storescu sends, in the corpus folder (compressed where its transfer syntax needs it). */
  file: string;
  /** The same instance as built, uncompressed. */
  built: string;
  storescu: string[];
  sopClassUID: string;
  sopInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  classes: string[];
  expect: { outcome: 'delivered' } | { outcome: 'held'; reason: string; why: string };
  needles: Needle[];
  exempt: Array<{ value: string; why: string }>;
  keep: Array<{ path: string; value: string; match: 'equal' | 'contains' }>;
  references: Array<{ path: string; target: string; kind?: 'series' }>;
  dateTimes: Array<{ path: string; value: string }>;
}

export interface Corpus {
  dir: string;
  siteCode: string;
  files: CorpusFile[];
}

/** Writes the hostile corpus (test/fixtures/generate-hostile-corpus.py) into a new temporary folder. */
export async function generateHostileCorpus(): Promise<Corpus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-corpus-'));
  await run(DEBIAN_PYTHON, [path.join(ROOT, 'test/fixtures/generate-hostile-corpus.py'), '--out', dir]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { siteCode: string; files: CorpusFile[] };
  return { dir, siteCode: manifest.siteCode, files: manifest.files };
}

export interface CorpusLeak {
  value: string;
  class: string;
  where: string;
}

export interface CorpusInspection {
  error?: string;
  transferSyntax: string;
  texts: Array<{ path: string; value: string; vr: string }>;
  uids: Array<{ path: string; value: string }>;
  pixelSha256?: string;
  pixelLength?: number;
  leaks: CorpusLeak[];
}

/**
 * Reads files with pydicom and searches each for every needle, normalised (test/support/corpus_inspect.py):
 * all elements at all depths, raw bytes outside pixel data, inflated PDF text.
 */
export async function inspectCorpusFiles(files: string[], needles: Array<Pick<Needle, 'value' | 'class'>>): Promise<Record<string, CorpusInspection>> {
  const needleFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'needles-')), 'needles.json');
  fs.writeFileSync(needleFile, JSON.stringify(needles));
  const { stdout } = await run(DEBIAN_PYTHON, [path.join(ROOT, 'test/support/corpus_inspect.py'), needleFile, ...files]);
  fs.rmSync(path.dirname(needleFile), { recursive: true, force: true });
  return JSON.parse(stdout) as Record<string, CorpusInspection>;
}

/** The value at an inspection path ("ViewCodeSequence[0].CodeValue"), or undefined. */
export function valueAt(inspection: CorpusInspection, at: string): string | undefined {
  return inspection.texts.find((t) => t.path === at)?.value;
}

const DEFLATED = '1.2.840.10008.1.2.1.99';

/**
 * dciodvfy's errors for a file (Debian dicom3tools), each normalised so that an error reads the same in an input
 * and its output: the element's value (which de-identification changes) is cut from the message. dciodvfy cannot
 * read the deflated transfer syntax: such a file is first rewritten explicit little endian by dcmtk's dcmconv
 * (the same dataset, element for element).
 */
export async function iodErrors(file: string, transferSyntax: string): Promise<string[]> {
  let checked = file;
  if (transferSyntax === DEFLATED) {
    checked = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'inflated-')), path.basename(file));
    await run('dcmconv', ['+te', file, checked]);
  }
  const { stdout, stderr } = await run('dciodvfy', [checked], { allowFailure: true });
  if (checked !== file) fs.rmSync(path.dirname(checked), { recursive: true, force: true });
  return `${stdout}\n${stderr}`
    .split('\n')
    .filter((l) => l.startsWith('Error'))
    .map((l) => l.replace(/ = <[^>]*>/g, ' = <value>').replace(/\s+/g, ' ').trim());
}

/** Errors of `output` that `input` does not have (as a multiset: a second copy of an error counts). */
export function addedErrors(input: string[], output: string[]): string[] {
  const left = new Map<string, number>();
  for (const e of input) left.set(e, (left.get(e) ?? 0) + 1);
  const added: string[] = [];
  for (const e of output) {
    const n = left.get(e) ?? 0;
    if (n > 0) left.set(e, n - 1);
    else added.push(e);
  }
  return added;
}

/** The same text with accents and case folded and separators dropped, as corpus_inspect.py compares. */
export function fold(text: string): string {
  const special: Record<string, string> = { ø: 'o', Ø: 'O', æ: 'ae', Æ: 'AE', ß: 'ss', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D', œ: 'oe', Œ: 'OE' };
  return [...text]
    .map((c) => special[c] ?? c)
    .join('')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}
