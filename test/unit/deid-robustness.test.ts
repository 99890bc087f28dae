import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DicomElement, DicomParseError, keywordOf, parseInstanceBuffer, stringValue, tag, tagOf, textElement } from '../../src/main/core/dicom';
import { DeidentificationError } from '../../src/main/core/deid';
import { PYDICOM_TEST_FILES } from '../support/dicom-tools';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

const empty = (keyword: string, vr: string): DicomElement => ({ tag: tagOf(keyword), vr, value: Buffer.alloc(0) });

describe('de-identification of unusual input', () => {
  it('keeps a public attribute no dictionary knows, as the profile lists only what to change', () => {
    const unknown = tag(0x0018, 0xfff0); // an even (public) group, an element PS3.6 does not define
    expect(keywordOf(unknown)).toBeUndefined();
    const ds = baseDataset([{ tag: unknown, vr: 'LO', value: Buffer.from('VENDOR TERM ') }]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.get(unknown)?.value?.toString('latin1')).toBe('VENDOR TERM ');
  });

  it('handles empty values under every rule without inventing or failing', () => {
    const ds = baseDataset([empty('PatientName', 'PN'), empty('PatientBirthDate', 'DA'), empty('StudyDate', 'DA'), empty('StudyDescription', 'LO'), empty('InstitutionName', 'LO')]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor({ studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } }));
    expect(stringValue(dataset, tagOf('PatientName'))).toBe('SITE-TEST0001');
    expect(dataset.get(tagOf('PatientBirthDate'))?.value?.length).toBe(0);
    expect(dataset.get(tagOf('StudyDate'))?.value?.length ?? 0).toBe(0);
  });

  it('refuses to shift dates without the patient\'s offset rather than sending them unchanged', () => {
    const ds = baseDataset([textElement(tagOf('StudyDate'), 'DA', '20190317')]);
    expect(() => deidentifyRoundTrip(ds, contextFor({ studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } }, { dateShiftDays: undefined }))).toThrow(DeidentificationError);
  });

  it('shifts each value of a multi-valued date and both ends of a range', () => {
    const ds = baseDataset([textElement(tagOf('StudyDate'), 'DA', '20190317\\20190318'), textElement(tagOf('ContentDate'), 'DA', '20190301-20190331')]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor({ studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } }, { dateShiftDays: 1 }));
    expect(stringValue(dataset, tagOf('StudyDate'))).toBe('20190318\\20190319');
    expect(stringValue(dataset, tagOf('ContentDate'))).toBe('20190302-20190401');
  });

  it('gives a specific error for a truncated instance, an element overrunning its item and a bad VR', () => {
    const good = fs.readFileSync(path.join(PYDICOM_TEST_FILES, 'CT_small.dcm'));
    expect(() => parseInstanceBuffer(good.subarray(0, 2000))).toThrow(DicomParseError);
    const badVr = Buffer.from(good);
    const at = badVr.indexOf(Buffer.from([0x08, 0x00, 0x08, 0x00, 0x43, 0x53])); // (0008,0008) CS
    badVr.write('Q?', at + 4, 'latin1');
    expect(() => parseInstanceBuffer(badVr)).toThrow(/invalid VR/);
  });
});
