import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Debian's own Python, which has python3-pydicom; the `python3` on PATH may not. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export interface ManifestFile {
  file: string;
  patientKey: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  birthDate: string;
  studyDate: string;
  hasAge: boolean;
  ageAtStudy?: string;
  phi: string[];
  references: Array<{ path: string; sopInstanceUID: string; kind: string; targetFile?: string }>;
}

/** Generates mammograms full of PHI with the project's fixture script; returns the folder and its manifest. */
export async function generateMammograms(args: string[] = []): Promise<{ dir: string; files: ManifestFile[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mammo-'));
  await run(DEBIAN_PYTHON, [path.join(ROOT, 'test/fixtures/generate-mammograms.py'), '--out', dir, '--quiet', ...args]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: ManifestFile[] };
  return { dir, files: manifest.files };
}

export interface Inspection {
  transferSyntax: string;
  top: Record<string, string>;
  texts: Array<{ path: string; value: string }>;
  uids: Array<{ path: string; value: string }>;
  pixelSha256?: string;
  pixelLength?: number;
}

/** Reads files with pydicom (an implementation independent of the gateway's own parser). */
export async function inspectDicom(files: string[]): Promise<Record<string, Inspection>> {
  const out: Record<string, Inspection> = {};
  for (let i = 0; i < files.length; i += 50) {
    const { stdout } = await run(DEBIAN_PYTHON, [path.join(ROOT, 'test/support/inspect_dicom.py'), ...files.slice(i, i + 50)]);
    Object.assign(out, JSON.parse(stdout));
  }
  return out;
}

/** dcmtk's storescu: sends files to the gateway's DICOM port; `extra` picks transfer syntaxes (-xr, -xv …). */
export function storescu(port: number, files: string[], options: { calledAe?: string; callingAe?: string; extra?: string[]; allowFailure?: boolean } = {}) {
  return run('storescu', ['-aec', options.calledAe ?? 'DEID_GW', '-aet', options.callingAe ?? 'MAMMO_UNIT', ...(options.extra ?? []), '127.0.0.1', String(port), ...files], { allowFailure: options.allowFailure });
}

export function echoscu(port: number, options: { calledAe?: string; callingAe?: string } = {}) {
  return run('echoscu', ['-aec', options.calledAe ?? 'DEID_GW', '-aet', options.callingAe ?? 'MAMMO_UNIT', '127.0.0.1', String(port)], { allowFailure: true });
}
