import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInstance, parseInstanceFile, writePieces } from '../../src/main/core/dicom';
import { deidentifyDataset } from '../../src/main/core/deid';
import type { DeidSettings } from '../../src/shared/settings';
import { DEBIAN_PYTHON } from '../support/dicom-tools';
import { run } from '../support/processes';
import { contextFor, identityOf } from '../support/deid-harness';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INPUTS = ['mg-overlays.dcm', 'sr-request.dcm', 'gsps.dcm', 'pdf.dcm'];
// Every identifying value the fixture script writes (test/fixtures/generate-iod-inputs.py).
const IDENTIFYING = [
  'NAKAMURA', 'HOLLOWAY', 'WATTS', 'MRN-448812', 'EMP4711', 'EMP0815', 'KGH-0042', 'Kingsbridge', 'Harbour', 'SN-99812',
  'MAMMO-KGH-2', 'DET-KGH-7', 'RP-5512', 'SPS-5512', 'PO-5512', 'FO-5512', 'A-77001', 'S-5512', '555-0199', '19650723', 'S40.07.23',
];

const CONFIGS: Array<{ name: string; settings: Partial<DeidSettings> }> = [
  { name: 'default settings', settings: {} },
  { name: 'study dates truncated to the month', settings: { studyDates: { keep: 'month', day: 15, month: 7, maxShiftDays: 365 } } },
  { name: 'study dates shifted', settings: { studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } } },
  { name: 'Clean Descriptors off, Retain Device and Institution Identity on', settings: { cleanDescriptors: false, retainDeviceIdentity: true, retainInstitutionIdentity: true } },
];

/** dciodvfy's errors for a file (warnings are advice, not invalidity). */
async function iodErrors(file: string): Promise<string[]> {
  const { stdout, stderr } = await run('dciodvfy', ['-new', file], { allowFailure: true });
  return `${stdout}\n${stderr}`.split('\n').filter((line) => line.startsWith('Error'));
}

describe('de-identified outputs stay valid for their IOD (dciodvfy, dicom3tools)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iod-'));
    await run(DEBIAN_PYTHON, [path.join(ROOT, 'test/fixtures/generate-iod-inputs.py'), dir]);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts from inputs dciodvfy finds no error in, so any error in an output is one the gateway added', async () => {
    for (const input of INPUTS) expect(await iodErrors(path.join(dir, input)), input).toEqual([]);
  });

  for (const config of CONFIGS) {
    it(`adds no IOD error and leaves no identifying value: ${config.name}`, async () => {
      for (const input of INPUTS) {
        const source = path.join(dir, input);
        const parsed = parseInstanceFile(source);
        try {
          const ctx = contextFor(config.settings, { dateShiftDays: 200 });
          const result = deidentifyDataset(parsed.dataset, identityOf(parsed.dataset), ctx);
          const target = path.join(dir, `out-${config.name.replace(/\W+/g, '-')}-${input}`);
          const pieces = encodeInstance({ dataset: result.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: result.sopClassUid, sopInstanceUid: result.sopInstanceUid });
          await writePieces(target, pieces, source, parsed.source);
          // No error allowed: the inputs have none.
          expect(await iodErrors(target), `${input} [${config.name}]`).toEqual([]);
          const bytes = fs.readFileSync(target).toString('latin1');
          const kept = IDENTIFYING.filter((v) => bytes.includes(v));
          // Retain Institution/Device Identity keep those values by the settings' own choice.
          const allowed = config.settings.retainInstitutionIdentity ? ['Kingsbridge', 'KGH-0042', 'Harbour', 'SN-99812', 'MAMMO-KGH-2', 'DET-KGH-7'] : [];
          expect(kept.filter((v) => !allowed.includes(v)), `${input} [${config.name}]`).toEqual([]);
        } finally {
          parsed.close();
        }
      }
    });
  }
});
