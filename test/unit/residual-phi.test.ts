import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeInstance, parseInstanceBuffer, parseInstanceFile, tagOf, textElement, writePieces } from '../../src/main/core/dicom';
import { BufferSource } from '../../src/main/core/dicom/source';
import { EXPLICIT_LE, baseDataset } from '../support/deid-harness';
import { deidentifyDataset, readIdentity } from '../../src/main/core/deid';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { openDatabase } from '../../src/main/core/store';
import { GatewaySettings } from '../../src/shared/settings';
import { checkOutputFile, findResidualPhi, identifyingValuesOf, ownValues, type WrittenByGateway } from '../../src/main/core/verify';
import { PYDICOM_TEST_FILES, generateMammograms } from '../support/dicom-tools';

const settings = GatewaySettings.parse({});
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-'));
const crosswalk = new Crosswalk(openDatabase(path.join(outDir, 'gateway.db'), crypto.randomBytes(32).toString('hex')), 'TST');

const written = new Map<string, WrittenByGateway>();

/** De-identifies one file in-process, optionally tampering with the result first, and returns the output path. */
async function deidentify(input: string, tamper?: (ds: Map<number, unknown>) => void, deid = settings.deid): Promise<string> {
  const parsed = parseInstanceFile(input);
  const identity = readIdentity(parsed);
  const patient = crosswalk.linkPatient(identity);
  const study = crosswalk.linkStudy(patient, identity);
  const result = deidentifyDataset(parsed.dataset, identity, {
    settings: deid, researchId: patient.researchId, researchAccessionNumber: study.researchAccessionNumber,
    researchStudyId: study.researchStudyId, mapUid: (u) => crosswalk.mapUid(u),
  });
  tamper?.(result.dataset as Map<number, unknown>);
  written.set(path.basename(input), { researchId: patient.researchId, researchAccessionNumber: study.researchAccessionNumber, researchStudyId: study.researchStudyId });
  const target = path.join(outDir, `${path.basename(input)}.out.dcm`);
  await writePieces(target, encodeInstance({ dataset: result.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: result.sopClassUid, sopInstanceUid: result.sopInstanceUid }), parsed.syntax.deflated ? undefined : input, parsed.source);
  parsed.close();
  return target;
}

function check(input: string, output: string) {
  const original = parseInstanceFile(input);
  const identifying = identifyingValuesOf(original.dataset);
  // The gateway's own values (research ID, dummies, method text, the maker's name) are not leaks.
  const own = ownValues(original.dataset, settings.deid, written.get(path.basename(input)));
  original.close();
  const out = parseInstanceFile(output);
  const findings = findResidualPhi(out, identifying, own);
  out.close();
  return { identifying, findings };
}

describe('residual-PHI check on every output file', () => {
  let mammograms: string[];
  beforeAll(async () => {
    const g = await generateMammograms(['--patients', '2', '--studies-per-patient', '1', '--views', '2']);
    mammograms = g.files.map((f) => path.join(g.dir, f.file));
  });

  it('finds the identifying values of an original: names, IDs, UIDs, birth date spellings', () => {
    const original = parseInstanceFile(mammograms[0]!);
    const values = identifyingValuesOf(original.dataset).map((v) => v.value);
    original.close();
    const manifestStyle = (s: string) => values.some((v) => v.toUpperCase() === s.toUpperCase());
    expect(values.length).toBeGreaterThan(30);
    expect(values.some((v) => /^MRN\d+$/.test(v))).toBe(true);
    expect(identifyingValuesOf(parseInstanceFile(mammograms[0]!).dataset).some((v) => v.kind === 'birthDate' && /^\d{8}$/.test(v.value))).toBe(true);
    expect(values.some((v) => /^1\.2\.826\.0\.1\.3680043\.9\.7777\./.test(v))).toBe(true);
    expect(manifestStyle('ANONYMIZED')).toBe(false);
  });

  it('passes the normal profile on generated mammograms with zero findings', async () => {
    for (const input of mammograms) expect(check(input, await deidentify(input)).findings).toEqual([]);
  });

  it.each(['CT_small.dcm', 'MR_small_implicit.dcm', 'ExplVR_BigEnd.dcm', 'image_dfl.dcm', 'SC_rgb_rle.dcm', 'JPEG2000.dcm', 'GDCMJ2K_TextGBR.dcm', 'rtplan.dcm', 'test-SR.dcm'])(
    'passes the normal profile on pydicom file %s with zero findings',
    async (name) => {
      const input = path.join(PYDICOM_TEST_FILES, name);
      expect(check(input, await deidentify(input)).findings).toEqual([]);
    },
  );

  it('names the attribute, not the value, when a weakened profile lets an identifying value through', async () => {
    const input = mammograms[0]!;
    const original = parseInstanceFile(input);
    const mother = original.dataset.get(tagOf('PatientMotherBirthName'))!;
    original.close();
    // Weakened on purpose: Patient's Mother's Birth Name kept as it was.
    const output = await deidentify(input, (ds) => ds.set(mother.tag, mother));
    const { findings } = check(input, output);
    expect(findings).toEqual([{ path: 'PatientMotherBirthName' }]);
    expect(JSON.stringify(findings)).not.toMatch(/[A-Z]{6,}\^/);
  });

  it('finds a value hidden in a nested sequence and in a private attribute', async () => {
    const input = mammograms[1]!;
    const original = parseInstanceFile(input);
    const id = readIdentity(original).patientId;
    original.close();
    const output = await deidentify(input, (ds) => {
      const seq = ds.get(tagOf('AnatomicRegionSequence')) as { items: Array<Map<number, unknown>> };
      seq.items[0]!.set(tagOf('CodeMeaning'), textElement(tagOf('CodeMeaning'), 'LO', `Breast of ${id}`));
      ds.set(0x00291010, { tag: 0x00291010, vr: 'OB', value: Buffer.from(`xx${id}xx`) });
    });
    expect(check(input, output).findings.map((f) => f.path).sort()).toEqual(['(0029,1010)', 'AnatomicRegionSequence[0].CodeMeaning']);
  });

  it('does not count what the policy keeps on purpose: original UIDs under Retain UIDs, device identity under its option', async () => {
    const input = mammograms[0]!;
    const original = parseInstanceFile(input);
    const retaining = GatewaySettings.parse({ deid: { retainUids: true, retainDeviceIdentity: true } }).deid;
    const output = await deidentify(input, undefined, retaining);
    expect(checkOutputFile(output, original.dataset, retaining)).toEqual([]);
    // The same output judged by the normal policy: the kept UIDs are leaks.
    expect(checkOutputFile(output, original.dataset, settings.deid).map((f) => f.path)).toContain('SOPInstanceUID');
    original.close();
  });

  it('does not count a birth date its rule leaves as it was (born on the 15th), but does count one it should have changed', async () => {
    const input = mammograms[1]!;
    const original = parseInstanceFile(input);
    const birth = tagOf('PatientBirthDate');
    const born = (original.dataset.get(birth)!.value!.toString('latin1').trim()).slice(0, 6);
    original.dataset.set(birth, textElement(birth, 'DA', `${born}15`));
    const written = path.join(outDir, 'born-15th.dcm');
    await writePieces(written, encodeInstance({ dataset: original.dataset, syntax: original.syntax, source: original.source, sopClassUid: readIdentity(original).sopClassUid, sopInstanceUid: readIdentity(original).sopInstanceUid }), original.syntax.deflated ? undefined : input, original.source);
    original.close();
    const reread = parseInstanceFile(written);
    expect(checkOutputFile(await deidentify(written), reread.dataset, settings.deid)).toEqual([]);
    const dayKept = GatewaySettings.parse({ deid: { birthDate: { keep: 'month', day: 1 } } }).deid;
    expect(checkOutputFile(await deidentify(written, (ds) => ds.set(birth, reread.dataset.get(birth))), reread.dataset, dayKept).map((f) => f.path)).toEqual(['PatientBirthDate']);
    reread.close();
  });

  it('matches a name component only as a whole word, and a number only where no digit adjoins it', () => {
    const original = baseDataset([textElement(tagOf('PatientName'), 'PN', 'Mary^Smith-Jones'), textElement(tagOf('PatientID'), 'LO', '4711')]);
    // Only the name and the ID: this synthetic output keeps the original's study and series UIDs.
    const identifying = identifyingValuesOf(original).filter((v) => !v.value.startsWith('1.2.'));
    expect(identifying).toEqual(expect.arrayContaining([
      { value: 'Mary', kind: 'name' },
      { value: '4711', kind: 'identifier' },
    ]));
    const file = (description: string, uid: string) => {
      const ds = baseDataset([textElement(tagOf('StudyDescription'), 'LO', description), textElement(tagOf('SOPInstanceUID'), 'UI', uid)]);
      const bytes = Buffer.concat(encodeInstance({ dataset: ds, syntax: EXPLICIT_LE, source: new BufferSource(Buffer.alloc(0)), sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2', sopInstanceUid: uid }) as Buffer[]);
      const parsed = parseInstanceBuffer(bytes);
      const found = findResidualPhi(parsed, identifying).map((f) => f.path);
      parsed.close();
      return found;
    };
    // "MARY" inside "SUMMARY", "4711" inside a random 2.25 UID: neither is the patient's.
    expect(file('SUMMARY', '2.25.3947112')).toEqual([]);
    expect(file('Screening for mary', '2.25.1')).toEqual(['StudyDescription']);
    expect(file('ID:4711', '2.25.1')).toEqual(['StudyDescription']);
    expect(file('Smith-Jones', '2.25.1')).toEqual(['StudyDescription']);
  });
});

describe('residual check: every needle, wherever it hides, and never the gateway\'s own values', () => {
  const utf8 = (keyword: string, vr: string, value: string) => {
    const bytes = Buffer.from(value, 'utf8');
    return { tag: tagOf(keyword), vr, value: bytes.length % 2 ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes };
  };
  const seq = (keyword: string, ...items: Array<Array<{ tag: number; vr: string; value?: Buffer }>>) => ({
    tag: tagOf(keyword), vr: 'SQ', items: items.map((els) => new Map(els.map((e) => [e.tag, e]))),
  });
  const original = baseDataset([
    textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'),
    utf8('PatientName', 'PN', 'Sørensen^Anna=山田^花子'),
    textElement(tagOf('PatientID'), 'LO', 'MRN-004711'),
    textElement(tagOf('IssuerOfPatientID'), 'LO', 'KGH'),
    textElement(tagOf('PatientBirthDate'), 'DA', '19450312'),
    utf8('PatientBirthDateInAlternativeCalendar', 'LO', '昭和20年3月12日'),
    textElement(tagOf('Manufacturer'), 'LO', 'HOLOGIC'),
    seq('OperatorIdentificationSequence', [
      seq('PersonIdentificationCodeSequence', [textElement(tagOf('CodeValue'), 'SH', 'EMP4417'), textElement(tagOf('CodingSchemeDesignator'), 'SH', 'L'), textElement(tagOf('CodeMeaning'), 'LO', 'Ingrid Halvorsen')]),
    ]) as never,
  ]);
  /** A de-identified-looking output: the gateway's values plus what the test puts in. */
  const output = (extra: Array<{ tag: number; vr: string; value?: Buffer }>) => {
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'),
      textElement(tagOf('PatientName'), 'PN', 'KGH-7F3K9Q2M'),
      textElement(tagOf('PatientID'), 'LO', 'KGH-7F3K9Q2M'),
      textElement(tagOf('InstitutionName'), 'LO', 'KGH'),
      textElement(tagOf('Manufacturer'), 'LO', 'HOLOGIC'),
      textElement(tagOf('StudyTime'), 'TM', '120345'),
      textElement(tagOf('SOPInstanceUID'), 'UI', '2.25.1'),
      ...extra,
    ]);
    ds.set(tagOf('StudyInstanceUID'), textElement(tagOf('StudyInstanceUID'), 'UI', '2.25.2'));
    ds.set(tagOf('SeriesInstanceUID'), textElement(tagOf('SeriesInstanceUID'), 'UI', '2.25.3'));
    const bytes = Buffer.concat(encodeInstance({ dataset: ds, syntax: EXPLICIT_LE, source: new BufferSource(Buffer.alloc(0)), sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2', sopInstanceUid: '2.25.1' }) as Buffer[]);
    return parseInstanceBuffer(bytes);
  };
  const own = ownValues(original, settings.deid, { researchId: 'KGH-7F3K9Q2M', siteCode: 'KGH' });
  const findings = (extra: Array<{ tag: number; vr: string; value?: Buffer }>, ownList = own) => {
    const parsed = output(extra);
    const found = findResidualPhi(parsed, identifyingValuesOf(original), ownList).map((f) => f.path);
    parsed.close();
    return found;
  };

  it('does not hold an instance whose site code equals the Issuer of Patient ID, nor its research ID that begins with it', () => {
    expect(findings([])).toEqual([]);
    // Without knowing the gateway's own values, the same file would be held: the site code is the issuer.
    expect(findings([], { values: [] })).toEqual(expect.arrayContaining(['InstitutionName', 'PatientID']));
  });

  it('does not hold the patient\'s research ID minted under the old site code after the site code changes', () => {
    const afterChange = ownValues(original, settings.deid, { researchId: 'KGH-7F3K9Q2M', siteCode: 'NEWSITE' });
    // Institution Name still says KGH in this synthetic output, so only that (the old site code) is left to find.
    expect(findings([], afterChange)).toEqual(['InstitutionName']);
  });

  it('knows a staff name that only a Person Identification Code Sequence holds (a Code Meaning)', () => {
    expect(findings([utf8('ContentDescription', 'LO', 'CAD marks by I. Halvorsen')])).toEqual(['ContentDescription']);
    expect(findings([utf8('StudyDescription', 'LO', 'Mammo EMP4417')])).toEqual(['StudyDescription']);
  });

  it.each([
    ['SORENSEN screening', 'accent-folded'],
    ['MRN004711', 'compact'],
    ['mrn 004711', 'spaced'],
    ['山田花子様', 'CJK beside CJK'],
    ['12 March 1945', 'written date'],
    ['March 12, 1945', 'written date, month first'],
    ['12MAR1945', 'DDMMMYYYY'],
    ['12.03.1945', 'numeric date'],
    ['昭和20年3月12日', 'alternative calendar'],
  ])('finds "%s" (%s) in a descriptor', (text) => {
    expect(findings([utf8('SeriesDescription', 'LO', text)])).toEqual(['SeriesDescription']);
  });

  it('does not take a time of day (12:03:45) for the birth date 1945-03-12 written as six digits', () => {
    expect(findings([textElement(tagOf('AcquisitionTime'), 'TM', '120345')])).toEqual([]);
  });

  it('finds the name, ID and birth date inside a Flate-compressed PDF, which the raw bytes do not show', () => {
    const content = Buffer.from('BT /F1 12 Tf 72 700 Td [(S\\370r) -20 (ensen, Anna)] TJ 0 -14 Td (ID MRN-004711) Tj ET');
    const stream = zlib.deflateSync(content);
    const pdf = Buffer.concat([
      Buffer.from(`%PDF-1.4\n1 0 obj << /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'),
      stream,
      Buffer.from('\nendstream\nendobj\n%%EOF\n', 'latin1'),
    ]);
    expect(pdf.toString('latin1').toUpperCase()).not.toContain('ENSEN');
    const document = { tag: tagOf('EncapsulatedDocument'), vr: 'OB', value: pdf.length % 2 ? Buffer.concat([pdf, Buffer.from([0])]) : pdf };
    expect(findings([document, textElement(tagOf('MIMETypeOfEncapsulatedDocument'), 'LO', 'application/pdf')])).toEqual(['EncapsulatedDocument (PDF text)']);
    // The same report with the text as a UTF-16 hex string.
    const hex = zlib.deflateSync(Buffer.from(`BT <FEFF${Buffer.from('Halvorsen', 'utf16le').swap16().toString('hex')}> Tj ET`));
    const pdf16 = Buffer.concat([Buffer.from('%PDF-1.7\n2 0 obj << /Filter /FlateDecode >>\nstream\n', 'latin1'), hex, Buffer.from('\nendstream\nendobj\n%%EOF', 'latin1')]);
    const document16 = { tag: tagOf('EncapsulatedDocument'), vr: 'OB', value: pdf16.length % 2 ? Buffer.concat([pdf16, Buffer.from([0])]) : pdf16 };
    expect(findings([document16])).toEqual(['EncapsulatedDocument (PDF text)']);
  });
});

describe('residual check after real de-identification with the README\'s site code', () => {
  it('holds nothing when the site code KGH is also the Issuer of Patient ID of every instance', async () => {
    const g = await generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '2']);
    const kgh = new Crosswalk(openDatabase(path.join(outDir, 'kgh.db'), crypto.randomBytes(32).toString('hex')), 'KGH');
    for (const f of g.files) {
      const input = path.join(g.dir, f.file);
      const parsed = parseInstanceFile(input);
      const issuer = tagOf('IssuerOfPatientID');
      parsed.dataset.set(issuer, textElement(issuer, 'LO', 'KGH'));
      const identity = readIdentity(parsed);
      const patient = kgh.linkPatient(identity);
      const study = kgh.linkStudy(patient, identity);
      const result = deidentifyDataset(parsed.dataset, identity, {
        settings: settings.deid, researchId: patient.researchId, siteCode: 'KGH', researchAccessionNumber: study.researchAccessionNumber,
        researchStudyId: study.researchStudyId, mapUid: (u) => kgh.mapUid(u),
      });
      const target = path.join(outDir, `kgh-${f.file}`);
      await writePieces(target, encodeInstance({ dataset: result.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: result.sopClassUid, sopInstanceUid: result.sopInstanceUid }), parsed.syntax.deflated ? undefined : input, parsed.source);
      expect(patient.researchId).toMatch(/^KGH-/);
      const written = { researchId: patient.researchId, researchAccessionNumber: study.researchAccessionNumber, researchStudyId: study.researchStudyId, siteCode: 'KGH' };
      expect(checkOutputFile(target, parsed.dataset, settings.deid, written)).toEqual([]);
      // What the check found before it knew the gateway's own values: the site code and the research ID.
      expect(checkOutputFile(target, parsed.dataset, settings.deid).map((x) => x.path)).toEqual(expect.arrayContaining(['InstitutionName', 'PatientID']));
      parsed.close();
    }
  });
});
