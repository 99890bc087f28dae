import { describe, expect, it } from 'vitest';
import { type DicomElement, stringValue, tagOf, textElement } from '../../src/main/core/dicom';
import { DescriptorCleaner } from '../../src/main/core/deid/descriptor-cleaner';
import { collectIdentifyingValues } from '../../src/main/core/deid/identifying-values';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

const el = (keyword: string, vr: string, value: string): DicomElement => textElement(tagOf(keyword), vr, value);
const utf8 = (keyword: string, vr: string, value: string): DicomElement => {
  const bytes = Buffer.from(value, 'utf8');
  return { tag: tagOf(keyword), vr, value: bytes.length % 2 ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes };
};
const seq = (keyword: string, ...items: DicomElement[][]): DicomElement => ({
  tag: tagOf(keyword), vr: 'SQ', items: items.map((els) => new Map(els.map((e) => [e.tag, e]))),
});

/** An original with people, IDs and dates at depth, as the harder corpus had them. */
const original = baseDataset([
  textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'),
  utf8('PatientName', 'PN', 'Sørensen^Anna Marie=山田^花子=やまだ^はなこ'),
  el('PatientID', 'LO', 'MRN-004711'),
  el('IssuerOfPatientID', 'LO', 'KGH'),
  el('PatientBirthDate', 'DA', '19650723'),
  utf8('PatientBirthDateInAlternativeCalendar', 'LO', '昭和40年7月23日'),
  el('AccessionNumber', 'SH', 'ACC778899'),
  el('InstitutionName', 'LO', 'Kingston General Hospital'),
  el('InstitutionalDepartmentName', 'LO', 'Breast Imaging Centre'),
  seq('OperatorIdentificationSequence', [
    seq('PersonIdentificationCodeSequence', [el('CodeValue', 'SH', 'EMP4417'), el('CodingSchemeDesignator', 'SH', 'L'), el('CodeMeaning', 'LO', 'Ingrid Halvorsen')]),
  ]),
  seq('ActualHumanPerformersSequence', [el('HumanPerformerName', 'PN', 'Lindqvist^Per')]),
  seq('InstitutionCodeSequence', [el('CodeValue', 'SH', 'KGH01'), el('CodingSchemeDesignator', 'SH', 'L'), el('CodeMeaning', 'LO', 'Kingston General')]),
  el('DeviceSerialNumber', 'LO', 'SN-88123'),
  seq('RequestAttributesSequence', [el('RequestedProcedureID', 'SH', 'RP5521'), el('ScheduledProcedureStepID', 'SH', 'SPS5522')]),
]);
const cleaner = new DescriptorCleaner(original);

describe('identifying values of an instance, from every depth', () => {
  const v = collectIdentifyingValues(original);
  it('takes names from all component groups and from person identification codes and performers at depth', () => {
    expect(v.names).toEqual(expect.arrayContaining(['Sørensen', 'Anna Marie', '山田', '花子', '山田花子', 'やまだ', 'はなこ', 'Ingrid Halvorsen', 'Lindqvist', 'Per']));
    expect(v.nameWords).toEqual(expect.arrayContaining(['Anna', 'Marie', 'Ingrid', 'Halvorsen']));
  });
  it('takes every identifier, place and the birth date in both calendars', () => {
    expect(v.identifiers).toEqual(expect.arrayContaining(['MRN-004711', 'KGH', 'ACC778899', 'EMP4417', 'KGH01', 'SN-88123', 'RP5521', 'SPS5522']));
    expect(v.places).toEqual(expect.arrayContaining(['Kingston General Hospital', 'Breast Imaging Centre', 'Kingston General']));
    expect(v.birthDates).toEqual(['19650723']);
    expect(v.alternativeCalendarDates).toEqual(['昭和40年7月23日']);
  });
});

describe('descriptors cleaned of every spelling', () => {
  it.each([
    ['MAMMO SCREEN BILAT', 'MAMMO SCREEN BILAT'],
    ['L CC', 'L CC'],
    ['Tomosynthesis', 'Tomosynthesis'],
    ['R MLO', 'R MLO'],
    ['SYNTHESIZED 2D', 'SYNTHESIZED 2D'],
    ['Screening Mammography, bilateral', 'Screening Mammography, bilateral'],
    ['BI-RADS 2 R-MLO spot mag 1.8x', 'BI-RADS 2 R-MLO spot mag 1.8x'],
  ])('keeps the mammography descriptor "%s"', (text, expected) => {
    expect(cleaner.clean(text)).toBe(expected);
  });

  it.each([
    ['Screening 23 Jul 1965', 'Screening'],
    ['Screening July 23, 1965', 'Screening'],
    ['MAMMO 23JUL1965', 'MAMMO'],
    ['Mammo 1965-07-23', 'Mammo'],
    ['Mammo 23/07/1965', 'Mammo'],
    ['Mammo 07.23.1965', 'Mammo'],
    ['Mammo 23 07 1965', 'Mammo'],
    ['Mammo 23.07.65', 'Mammo'],
    ['Mammo 230765', 'Mammo'],
    ['Mammographie 23. Juli 1965', 'Mammographie'],
    ['Mammographie le 23 juillet 1965', 'Mammographie le'],
    ['Mamografía 23 de julio de 1965', 'Mamografía'],
    ['Mammografia 23 luglio 1965', 'Mammografia'],
    ['Mammografie 23 juli 1965', 'Mammografie'],
    ['Mamografia 23 de julho de 1965', 'Mamografia'],
    ['Mammografi 23 juli 1965 screening', 'Mammografi screening'],
    ['Mammo 23-Jul-65', 'Mammo'],
    ['検診 昭和40年7月23日', '検診'],
    ['Mammo S40.7.23', 'Mammo'],
    ['검진 1965년 7월 23일', '검진'],
  ])('removes the birth date written as "%s"', (text, expected) => {
    expect(cleaner.clean(text)).toBe(expected);
  });

  it.each([
    ['Screening SORENSEN', 'Screening'],
    ['Screening Soerensen', 'Screening'],
    ['Screening sorensen anna', 'Screening'],
    ['Mammo MRN004711', 'Mammo'],
    ['Mammo mrn 004711', 'Mammo'],
    ['Mammo (KGH)', 'Mammo'],
    ['Screening Kingston-General Hospital', 'Screening'],
    ['Screening Halvorsen', 'Screening'],
    ['Tomo Lindqvist', 'Tomo'],
    ['Mammo EMP 4417', 'Mammo'],
  ])('removes accent-folded, compact and sequence-only values: "%s"', (text, expected) => {
    expect(cleaner.clean(text)).toBe(expected);
  });

  it.each([
    ['山田花子 マンモグラフィ', 'マンモグラフィ'],
    ['山田様の乳房撮影', '乳房撮影'],
    ['やまだ はなこ 検診', '検診'],
  ])('removes a Japanese name beside CJK text: "%s"', (text, expected) => {
    expect(cleaner.clean(text)).toBe(expected);
  });

  it('removes Chinese and Korean names beside CJK text', () => {
    const zh = new DescriptorCleaner(baseDataset([textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'), utf8('PatientName', 'PN', 'Wang^Wei=王^伟')]));
    expect(zh.clean('乳腺X线摄影王伟')).toBe('乳腺X线摄影');
    const ko = new DescriptorCleaner(baseDataset([textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'), utf8('PatientName', 'PN', 'Hong^Gildong=洪^吉洞=홍^길동')]));
    expect(ko.clean('홍길동 유방촬영술')).toBe('유방촬영술');
  });

  it('removes words no attribute holds: a physician named only in free text, a phone number', () => {
    expect(cleaner.clean('Screening requested by Dr Bergström, call 555-123-4567')).toBe('Screening requested by');
    expect(cleaner.clean('Jensen')).toBe('');
  });
});

describe('the cleaner in the profile', () => {
  it('cleans Study Description and GSPS text, keeping the mammography words', () => {
    const ds = new Map(original);
    for (const e of [
      utf8('StudyDescription', 'LO', 'MAMMO SCREEN BILAT Sørensen 23.07.1965'),
      utf8('ContentDescription', 'LO', 'CAD marks for Ingrid Halvorsen'),
      utf8('GraphicLayerDescription', 'LO', 'Annotations Lindqvist'),
      utf8('ContentLabel', 'CS', 'HALVORSEN'),
    ]) ds.set(e.tag, e);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    const text = (k: string): string | undefined => stringValue(dataset, tagOf(k), ['ISO_IR 192']);
    expect(text('StudyDescription')).toBe('MAMMO SCREEN BILAT');
    expect(text('ContentDescription')).toBe('CAD marks for');
    expect(text('GraphicLayerDescription')).toBe('Annotations');
    // Content Label is Type 1: nothing of it may stay, so it gets a label of its own.
    expect(text('ContentLabel')).toBe('LABEL');
  });
});
