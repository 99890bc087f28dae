import { describe, expect, it } from 'vitest';
import { type DicomDataset, type DicomElement, tag, tagOf, textElement, stringValue } from '../../src/main/core/dicom';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

const t = tagOf;
const el = (keyword: string, vr: string, value: string): DicomElement => textElement(t(keyword), vr, value);
const item = (...elements: DicomElement[]): DicomDataset => new Map(elements.map((e) => [e.tag, e]));
const seq = (keyword: string, ...items: DicomDataset[]): DicomElement => ({ tag: t(keyword), vr: 'SQ', items });
const code = (value: string, scheme: string, meaning: string): DicomDataset =>
  item(el('CodeValue', 'SH', value), el('CodingSchemeDesignator', 'SH', scheme), el('CodeMeaning', 'LO', meaning));

/** A person identified by the Person Identification Macro (PS3.3 Table 10-1): staff number and name in a code. */
const person = (): DicomDataset =>
  item(
    seq('PersonIdentificationCodeSequence', code('EMP4711', 'L', 'HOLLOWAY^JANE')),
    el('PersonAddress', 'ST', '12 Harbour Road'),
    el('InstitutionName', 'LO', 'Kingsbridge General Hospital'),
    seq('InstitutionCodeSequence', code('KGH-0042', 'L', 'Kingsbridge General Hospital')),
  );

const IDENTIFYING = ['EMP4711', 'HOLLOWAY', 'Kingsbridge', 'KGH-0042', 'Harbour'];
const leaks = (file: Buffer): string[] => IDENTIFYING.filter((needle) => file.toString('latin1').includes(needle));
const codeOf = (ds: DicomDataset | undefined): string[] =>
  ds ? ['CodeValue', 'CodingSchemeDesignator', 'CodeMeaning'].map((k) => stringValue(ds, t(k)) ?? '') : [];

describe('identification macros are handled as what they are', () => {
  it('removes the top-level identification sequences (Type 3 in every IOD) with their codes', () => {
    const ds = baseDataset([
      seq('OperatorIdentificationSequence', person()),
      seq('PerformingPhysicianIdentificationSequence', person()),
      seq('ReferringPhysicianIdentificationSequence', person()),
      seq('PhysiciansReadingStudyIdentificationSequence', person()),
      seq('InstitutionCodeSequence', code('KGH-0042', 'L', 'Kingsbridge General Hospital')),
      el('InstitutionName', 'LO', 'Kingsbridge General Hospital'),
      el('OperatorsName', 'PN', 'HOLLOWAY^JANE'),
    ]);
    const { file, dataset } = deidentifyRoundTrip(ds, contextFor());
    for (const k of ['OperatorIdentificationSequence', 'PerformingPhysicianIdentificationSequence', 'ReferringPhysicianIdentificationSequence', 'PhysiciansReadingStudyIdentificationSequence', 'InstitutionCodeSequence', 'InstitutionName', 'OperatorsName']) {
      expect(dataset.has(t(k)), k).toBe(false);
    }
    expect(leaks(file)).toEqual([]);
  });

  it('replaces the codes of a Person Identification Macro wherever the table keeps the sequence (Requesting Physician Identification)', () => {
    // Requesting Physician Identification Sequence has no row: it is walked, and the rows inside it apply.
    const ds = baseDataset([seq('RequestingPhysicianIdentificationSequence', person())]);
    const { file, dataset } = deidentifyRoundTrip(ds, contextFor());
    const p = dataset.get(t('RequestingPhysicianIdentificationSequence'))!.items![0]!;
    const personCodes = p.get(t('PersonIdentificationCodeSequence'))!.items!;
    expect(personCodes.map(codeOf)).toEqual([['ANONYMIZED', '99DEID', 'ANONYMIZED']]);
    expect(p.get(t('InstitutionCodeSequence'))!.items!.map(codeOf)).toEqual([['ANONYMIZED', '99DEID', 'ANONYMIZED']]);
    expect(stringValue(p, t('InstitutionName'))).toBe('ANONYMIZED');
    expect(p.has(t('PersonAddress'))).toBe(false);
    expect(leaks(file)).toEqual([]);
  });

  it('writes the site code as the institution inside a macro too, and keeps institution codes only under Retain Institution Identity', () => {
    const site = deidentifyRoundTrip(baseDataset([seq('RequestingPhysicianIdentificationSequence', person())]), contextFor({}, { siteCode: 'SITE7' })).dataset;
    expect(stringValue(site.get(t('RequestingPhysicianIdentificationSequence'))!.items![0]!, t('InstitutionName'))).toBe('SITE7');
    const kept = deidentifyRoundTrip(baseDataset([seq('InstitutionCodeSequence', code('KGH-0042', 'L', 'Kingsbridge General Hospital'))]), contextFor({ retainInstitutionIdentity: true })).dataset;
    expect(kept.get(t('InstitutionCodeSequence'))!.items!.map(codeOf)).toEqual([['KGH-0042', 'L', 'Kingsbridge General Hospital']]);
  });

  it('keeps the codes researchers need: view, laterality, anatomy, procedure and SR findings', () => {
    const view = code('R-10242', 'SRT', 'cranio-caudal');
    const ds = baseDataset([
      seq('ViewCodeSequence', view, ),
      seq('AnatomicRegionSequence', code('T-04000', 'SRT', 'Breast')),
      seq('ProcedureCodeSequence', code('24623002', 'SCT', 'Screening mammography')),
      el('ImageLaterality', 'CS', 'L'),
      seq('ContentSequence', item(
        el('RelationshipType', 'CS', 'CONTAINS'),
        el('ValueType', 'CS', 'CODE'),
        seq('ConceptNameCodeSequence', code('111042', 'DCM', 'Mass')),
        seq('ConceptCodeSequence', code('F-01796', 'SRT', 'Mammography breast density')),
      )),
    ]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.get(t('ViewCodeSequence'))!.items!.map(codeOf)).toEqual([['R-10242', 'SRT', 'cranio-caudal']]);
    expect(dataset.get(t('AnatomicRegionSequence'))!.items!.map(codeOf)).toEqual([['T-04000', 'SRT', 'Breast']]);
    expect(dataset.get(t('ProcedureCodeSequence'))!.items!.map(codeOf)).toEqual([['24623002', 'SCT', 'Screening mammography']]);
    expect(stringValue(dataset, t('ImageLaterality'))).toBe('L');
    const content = dataset.get(t('ContentSequence'))!.items![0]!;
    expect(codeOf(content.get(t('ConceptNameCodeSequence'))!.items![0])).toEqual(['111042', 'DCM', 'Mass']);
    expect(codeOf(content.get(t('ConceptCodeSequence'))!.items![0])).toEqual(['F-01796', 'SRT', 'Mammography breast density']);
  });

  it('cleans the meaning of a diagnosis code under Clean Descriptors and removes the sequence without it', () => {
    const diagnosis = (): DicomElement => seq('PrimaryDiagnosisCodeSequence', code('254837009', 'SCT', 'Carcinoma of breast HOLLOWAY'));
    const cleaned = deidentifyRoundTrip(baseDataset([el('PatientName', 'PN', 'HOLLOWAY^JANE'), diagnosis()]), contextFor()).dataset;
    const [value, scheme, meaning] = codeOf(cleaned.get(t('PrimaryDiagnosisCodeSequence'))!.items![0]);
    expect([value, scheme]).toEqual(['254837009', 'SCT']);
    expect(meaning).toBe('Carcinoma of breast');
    const removed = deidentifyRoundTrip(baseDataset([diagnosis()]), contextFor({ cleanDescriptors: false })).dataset;
    expect(removed.has(t('PrimaryDiagnosisCodeSequence'))).toBe(false);
  });

  it('de-identifies a Verifying Observer (D, not a code sequence) item by item, keeping the Type 1 and 2 attributes present', () => {
    const ds = baseDataset([seq('VerifyingObserverSequence', item(
      el('VerifyingObserverName', 'PN', 'HOLLOWAY^JANE'),
      el('VerifyingOrganization', 'LO', 'Kingsbridge General Hospital'),
      el('VerificationDateTime', 'DT', '20250612114500'),
      seq('VerifyingObserverIdentificationCodeSequence', code('EMP4711', 'L', 'HOLLOWAY^JANE')),
    ))]);
    const { file, dataset } = deidentifyRoundTrip(ds, contextFor());
    const v = dataset.get(t('VerifyingObserverSequence'))!.items![0]!;
    expect(stringValue(v, t('VerifyingObserverName'))).toBe('ANONYMIZED');
    expect(stringValue(v, t('VerifyingOrganization'))).toBe('ANONYMIZED');
    expect(stringValue(v, t('VerificationDateTime'))).toBe('20250612114500');
    expect(v.get(t('VerifyingObserverIdentificationCodeSequence'))!.items).toEqual([]);
    expect(leaks(file)).toEqual([]);
  });
});

describe('attributes an IOD requires stay present', () => {
  it('empties, rather than removes, the Type 2 attributes of an SR\'s Referenced Request Sequence', () => {
    const ds = baseDataset([
      el('SOPClassUID', 'UI', '1.2.840.10008.5.1.4.1.1.88.50'),
      seq('ReferencedRequestSequence', item(
        el('StudyInstanceUID', 'UI', '1.2.826.0.1.3680043.10.1.2'),
        seq('ReferencedStudySequence', item(el('ReferencedSOPClassUID', 'UI', '1.2.840.10008.3.1.2.3.1'), el('ReferencedSOPInstanceUID', 'UI', '1.2.826.0.1.3680043.10.1.9'))),
        el('AccessionNumber', 'SH', 'A-77001'),
        el('PlacerOrderNumberImagingServiceRequest', 'LO', 'PO-5512'),
        el('FillerOrderNumberImagingServiceRequest', 'LO', 'FO-5512'),
        el('RequestedProcedureID', 'SH', 'RP-HOLLOWAY'),
        el('RequestedProcedureDescription', 'LO', 'Mammo for HOLLOWAY'),
        seq('RequestedProcedureCodeSequence', code('24623002', 'SCT', 'Screening mammography')),
      )),
    ]);
    const { file, dataset } = deidentifyRoundTrip(ds, contextFor({ cleanDescriptors: false }));
    const r = dataset.get(t('ReferencedRequestSequence'))!.items![0]!;
    for (const k of ['RequestedProcedureID', 'RequestedProcedureDescription', 'PlacerOrderNumberImagingServiceRequest', 'FillerOrderNumberImagingServiceRequest']) {
      expect(r.has(t(k)), k).toBe(true);
      expect(r.get(t(k))!.value?.length ?? 0, k).toBe(0);
    }
    expect(r.get(t('ReferencedStudySequence'))!.items).toEqual([]);
    expect(stringValue(r, t('AccessionNumber'))).toBe('ACC0RESEARCH');
    expect(codeOf(r.get(t('RequestedProcedureCodeSequence'))!.items![0])).toEqual(['24623002', 'SCT', 'Screening mammography']);
    expect(file.toString('latin1')).not.toContain('HOLLOWAY');
    expect(file.toString('latin1')).not.toContain('5512');
  });
});

describe('an option never leaves out what the Basic Profile keeps', () => {
  it('keeps a GSPS Unformatted Text Value present (D, Clean Descriptors C, Type 1): cleaned to its vocabulary words, else a dummy', () => {
    const note = item(el('UnformattedTextValue', 'ST', 'NAKAMURA mass, call 555-0199'), el('AnchorPointAnnotationUnits', 'CS', 'PIXEL'));
    const ds = baseDataset([seq('GraphicAnnotationSequence', item(el('GraphicLayer', 'CS', 'MARKS'), seq('TextObjectSequence', note)))]);
    for (const cleanDescriptors of [true, false]) {
      const { file, dataset } = deidentifyRoundTrip(ds, contextFor({ cleanDescriptors }));
      const text = dataset.get(t('GraphicAnnotationSequence'))!.items![0]!.get(t('TextObjectSequence'))!.items![0]!;
      // Cleaned, the name and the phone number go and the finding's word stays; without the option, a dummy.
      expect(stringValue(text, t('UnformattedTextValue')), `cleanDescriptors ${cleanDescriptors}`).toBe(cleanDescriptors ? 'mass' : 'ANONYMIZED');
      expect(file.toString('latin1')).not.toContain('NAKAMURA');
    }
  });
});

describe('overlays, curves and other calendars', () => {
  const overlay = (group: number): DicomElement[] => [
    { tag: tag(group, 0x0010), vr: 'US', value: Buffer.from([0x40, 0]) },
    { tag: tag(group, 0x0011), vr: 'US', value: Buffer.from([0x40, 0]) },
    textElement(tag(group, 0x0040), 'CS', 'G'),
    { tag: tag(group, 0x0050), vr: 'SS', value: Buffer.from([1, 0, 1, 0]) },
    { tag: tag(group, 0x0100), vr: 'US', value: Buffer.from([1, 0]) },
    { tag: tag(group, 0x0102), vr: 'US', value: Buffer.from([0, 0]) },
    textElement(tag(group, 0x1500), 'LO', 'HOLLOWAY marks'),
    textElement(tag(group, 0x0022), 'LO', 'Reviewed by HOLLOWAY'),
    { tag: tag(group, 0x3000), vr: 'OW', value: Buffer.alloc(512, 0xff) },
  ];

  it('removes each overlay group and each curve group whole, label and description included', () => {
    const ds = baseDataset([...overlay(0x6000), ...overlay(0x6002), ...overlay(0x601e), textElement(tag(0x5000, 0x0005), 'US', ''), { tag: tag(0x5000, 0x3000), vr: 'OW', value: Buffer.alloc(8) }]);
    const { file, dataset } = deidentifyRoundTrip(ds, contextFor());
    const left = [...dataset.keys()].filter((k) => (k >>> 16 >= 0x5000 && k >>> 16 <= 0x501e) || (k >>> 16 >= 0x6000 && k >>> 16 <= 0x601e));
    expect(left).toEqual([]);
    expect(file.toString('latin1')).not.toContain('HOLLOWAY');
  });

  it('removes the birth and death dates written in another calendar, and the calendar', () => {
    const ds = baseDataset([
      el('PatientBirthDate', 'DA', '19650723'),
      el('PatientBirthDateInAlternativeCalendar', 'LO', '昭和40年7月23日'),
      el('PatientDeathDateInAlternativeCalendar', 'LO', '1386/05/01'),
      el('PatientAlternativeCalendar', 'CS', 'JAPANESE'),
    ]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.has(t('PatientBirthDateInAlternativeCalendar'))).toBe(false);
    expect(dataset.has(t('PatientDeathDateInAlternativeCalendar'))).toBe(false);
    expect(dataset.has(t('PatientAlternativeCalendar'))).toBe(false);
    expect(stringValue(dataset, t('PatientBirthDate'))).toBe('19650715');
  });
});
