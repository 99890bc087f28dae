import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { DicomParseError, encodeInstance, parseInstanceFile, writePieces } from '../../src/main/core/dicom';
import { deidentifyDataset, readIdentity, MissingAttributeError, DeidentificationError } from '../../src/main/core/deid';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { DeidSettings } from '../../src/shared/settings';
import { PYDICOM_TEST_FILES, generateMammograms, inspectDicom, type Inspection, type ManifestFile } from '../support/dicom-tools';
import { findLeaks, identifyingValuesOf } from '../support/leaks';
import { checkOutputFile } from '../../src/main/core/verify';

/** The gateway's own residual check, as the pipeline runs it before every upload, on one output against its input. */
function residualFindings(input: string, output: string, settings: DeidSettings): string[] {
  const original = parseInstanceFile(input);
  try {
    return checkOutputFile(output, original.dataset, settings).map((f) => f.path);
  } finally {
    original.close();
  }
}

const CHARSET_FILES = path.join(PYDICOM_TEST_FILES, '..', 'charset_files');

interface Outcome {
  input: string;
  output?: string;
  error?: Error;
}

/** The engine as the pipeline drives it: parse → identity → crosswalk → deidentify → encode → writePieces. */
async function deidentifyFile(input: string, outDir: string, crosswalk: Crosswalk, settings: DeidSettings): Promise<Outcome> {
  let parsed;
  try {
    parsed = parseInstanceFile(input);
  } catch (error) {
    return { input, error: error as Error };
  }
  try {
    const identity = readIdentity(parsed);
    const patient = crosswalk.linkPatient(identity);
    const study = crosswalk.linkStudy(patient, identity);
    const result = deidentifyDataset(parsed.dataset, identity, {
      settings,
      researchId: patient.researchId,
      researchAccessionNumber: study.researchAccessionNumber,
      researchStudyId: study.researchStudyId,
      mapUid: (uid) => crosswalk.mapUid(uid),
      dateShiftDays: crosswalk.dateShiftDays(patient, settings.studyDates.maxShiftDays),
    });
    const pieces = encodeInstance({ dataset: result.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: result.sopClassUid, sopInstanceUid: result.sopInstanceUid });
    const output = path.join(outDir, `${path.basename(path.dirname(input))}-${path.basename(input)}`);
    await writePieces(output, pieces, parsed.syntax.deflated ? undefined : input, parsed.source);
    return { input, output };
  } catch (error) {
    return { input, error: error as Error };
  } finally {
    parsed.close();
  }
}

function newCrosswalk(): { crosswalk: Crosswalk; db: Database.Database } {
  const db = new Database(':memory:');
  migrate(db, migrations);
  return { crosswalk: new Crosswalk(db as never, 'LEAK'), db };
}

interface Inspected {
  inspections: Record<string, Inspection>;
  /** Files pydicom could not read, with its error: counted and listed, never skipped silently. */
  unreadable: Record<string, string>;
}

/** Inspects in batches; if a batch fails, one by one, recording each file pydicom cannot read and why. */
async function inspectAll(files: string[]): Promise<Inspected> {
  try {
    return { inspections: await inspectDicom(files), unreadable: {} };
  } catch {
    const result: Inspected = { inspections: {}, unreadable: {} };
    for (const f of files) {
      try {
        Object.assign(result.inspections, await inspectDicom([f]));
      } catch (error) {
        result.unreadable[f] = (error as Error).message.split('\n').filter(Boolean).at(-1) ?? 'unreadable';
      }
    }
    return result;
  }
}

/**
 * Inputs pydicom may not read, with the reason; any other unreadable input fails the test (its leaks could not be
 * checked). Empty: pydicom 2.3 (Debian bookworm) reads every test and character-set file it ships, with force.
 */
const UNREADABLE_INPUTS: Record<string, string> = {};

/** Name parts that are also part of a coded value the output keeps by design, file by file. */
const COINCIDENCES: Record<string, string[]> = {
  // PatientName 'Last^First^mid^pre': the prefix "pre" is also the start of RTPlanRelationship 'PREDECESSOR'.
  'rtplan.dcm': ['pre'],
  // PatientName 'Test^S R': also the Coding Scheme Designator 'TEST' of its concept codes.
  'test-SR.dcm': ['Test'],
};

const TYPED_ERRORS = [DicomParseError, MissingAttributeError, DeidentificationError];

describe('no identifying value of the input appears anywhere in the de-identified output', () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-leaks-'));
  const settings = DeidSettings.parse({});
  const pydicom: Outcome[] = [];
  let inputs: Record<string, Inspection> = {};
  let outputs: Record<string, Inspection> = {};
  let unreadableInputs: Record<string, string> = {};
  let unreadableOutputs: Record<string, string> = {};

  beforeAll(async () => {
    const files = [
      ...fs.readdirSync(PYDICOM_TEST_FILES).filter((f) => f.endsWith('.dcm')).map((f) => path.join(PYDICOM_TEST_FILES, f)),
      ...fs.readdirSync(CHARSET_FILES).filter((f) => f.endsWith('.dcm')).map((f) => path.join(CHARSET_FILES, f)),
    ];
    const { crosswalk } = newCrosswalk();
    for (const f of files) pydicom.push(await deidentifyFile(f, outDir, crosswalk, settings));
    const accepted = pydicom.filter((o) => o.output);
    const [i, o] = await Promise.all([inspectAll(accepted.map((x) => x.input)), inspectAll(accepted.map((x) => x.output!))]);
    [inputs, outputs, unreadableInputs, unreadableOutputs] = [i.inspections, o.inspections, i.unreadable, o.unreadable];
  });

  it('de-identifies the pydicom test and character-set files it can read, and refuses the others with a specific error', () => {
    const accepted = pydicom.filter((o) => o.output);
    expect(accepted.length).toBeGreaterThanOrEqual(70);
    for (const o of pydicom.filter((x) => x.error)) {
      expect(TYPED_ERRORS.some((E) => o.error instanceof E), `${path.basename(o.input)}: ${o.error!.name}: ${o.error!.message}`).toBe(true);
    }
    // pydicom reads back every file we wrote, and every input but the ones listed (with why) in UNREADABLE_INPUTS.
    expect(Object.entries(unreadableOutputs).map(([f, why]) => `${path.basename(f)}: ${why}`)).toEqual([]);
    for (const o of accepted) expect(outputs[o.output!], path.basename(o.input)).toBeDefined();
    const unexpected = Object.entries(unreadableInputs).filter(([f]) => !(path.basename(f) in UNREADABLE_INPUTS)).map(([f, why]) => `${path.basename(f)}: ${why}`);
    expect(unexpected).toEqual([]);
  });

  it('leaves no name, ID, birth date, institution or instance UID of any pydicom file in its output', () => {
    let checked = 0;
    const unchecked: string[] = [];
    for (const o of pydicom.filter((x) => x.output)) {
      const input = inputs[o.input];
      const output = outputs[o.output!];
      if (!input || !output) {
        unchecked.push(path.basename(o.input));
        continue;
      }
      const identifying = identifyingValuesOf(input).filter((v) => !(COINCIDENCES[path.basename(o.input)] ?? []).includes(v));
      checked += identifying.length;
      expect(findLeaks(fs.readFileSync(o.output!), output, identifying), path.basename(o.input)).toEqual([]);
      expect(output.top.PatientIdentityRemoved, path.basename(o.input)).toBe('YES');
    }
    // Only the inputs pydicom may not read (listed with why) go unchecked; no output may.
    expect(unchecked.filter((f) => !(f in UNREADABLE_INPUTS))).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });

  it('passes the residual check the gateway runs before upload on every output, with zero hits', () => {
    const accepted = pydicom.filter((o) => o.output);
    const hits = accepted.map((o) => [path.basename(o.input), residualFindings(o.input, o.output!, settings)] as const).filter(([, f]) => f.length > 0);
    expect(hits).toEqual([]);
    expect(accepted.length).toBeGreaterThanOrEqual(70);
  });

  it('keeps the Specific Character Set and writes cleaned descriptors that read back in it', () => {
    const charsetFiles = pydicom.filter((x) => x.output && x.input.startsWith(CHARSET_FILES));
    // Every character-set file is checked: none may be left out for being unreadable.
    expect(charsetFiles.filter((o) => !inputs[o.input] || !outputs[o.output!]).map((o) => path.basename(o.input))).toEqual([]);
    expect(charsetFiles.length).toBeGreaterThan(10);
    for (const o of charsetFiles) {
      const input = inputs[o.input]!;
      const output = outputs[o.output!]!;
      const charset = (i: Inspection): string | undefined => i.texts.find((t) => t.path === 'SpecificCharacterSet')?.value;
      expect(charset(output), path.basename(o.input)).toBe(charset(input));
      // Nothing pydicom decodes from the output is mojibake.
      for (const t of output.texts.filter((x) => !x.path.startsWith('meta.'))) expect(t.value, `${path.basename(o.input)} ${t.path}`).not.toContain('\ufffd');
    }
  });
});

describe('generated mammograms: PHI in private tags, nested sequences, comments and name components', () => {
  let mammograms: { dir: string; files: ManifestFile[] };
  const outcomes = new Map<string, Outcome>();
  let outputs: Record<string, Inspection> = {};
  let crosswalk: Crosswalk;

  beforeAll(async () => {
    mammograms = await generateMammograms();
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-mammo-'));
    crosswalk = newCrosswalk().crosswalk;
    const settings = DeidSettings.parse({ studyDates: { keep: 'shift' } });
    for (const f of mammograms.files) outcomes.set(f.file, await deidentifyFile(path.join(mammograms.dir, f.file), outDir, crosswalk, settings));
    outputs = await inspectDicom([...outcomes.values()].map((o) => o.output!).filter(Boolean));
  });

  it('writes every instance without any of its PHI, anywhere in the file', () => {
    for (const f of mammograms.files) {
      const o = outcomes.get(f.file)!;
      expect(o.error, f.file).toBeUndefined();
      expect(f.phi.length, f.file).toBeGreaterThan(10);
      // Retain Patient Characteristics keeps ethnic group by design; everything else in the manifest must go.
      const ethnicGroup = outputs[o.output!]!.top.EthnicGroup;
      const identifying = f.phi.filter((v) => v !== ethnicGroup);
      expect(findLeaks(fs.readFileSync(o.output!), outputs[o.output!]!, identifying), f.file).toEqual([]);
    }
  });

  it('passes the residual check the gateway runs before upload on every mammogram, with zero hits', () => {
    const settings = DeidSettings.parse({ studyDates: { keep: 'shift' } });
    for (const f of mammograms.files) expect(residualFindings(path.join(mammograms.dir, f.file), outcomes.get(f.file)!.output!, settings), f.file).toEqual([]);
  });

  it('points every reference (Source Image, Referenced Image, Referenced Study) at the new UIDs, across series and studies', () => {
    const bySop = new Map(mammograms.files.map((f) => [f.file, f]));
    let checked = 0;
    for (const f of mammograms.files) {
      const output = outputs[outcomes.get(f.file)!.output!]!;
      for (const ref of f.references) {
        const found = output.uids.find((u) => u.path === ref.path);
        // Referenced Study Sequence is X/Z in the table: emptied, so its reference is gone rather than remapped.
        if (ref.path.startsWith('ReferencedStudySequence')) {
          expect(found, `${f.file} ${ref.path}`).toBeUndefined();
          continue;
        }
        expect(found, `${f.file} ${ref.path}`).toBeDefined();
        expect(found!.value, `${f.file} ${ref.path}`).not.toBe(ref.sopInstanceUID);
        if (ref.kind === 'instance') {
          const target = outputs[outcomes.get(ref.targetFile!)!.output!]!;
          expect(found!.value, `${f.file} ${ref.path}`).toBe(target.top.SOPInstanceUID);
          expect(bySop.get(ref.targetFile!)).toBeDefined();
        } else {
          expect(found!.value, `${f.file} ${ref.path}`).toBe(crosswalk.mapUid(ref.sopInstanceUID));
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(mammograms.files.length);
  });
});
