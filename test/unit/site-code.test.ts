import { describe, expect, it } from 'vitest';
import { type DicomDataset, stringValue, tagOf, textElement } from '../../src/main/core/dicom';
import { deidentifyDataset, type DeidContext } from '../../src/main/core/deid/deidentify';
import type { InstanceIdentity } from '../../src/main/core/deid/identity';
import { DeidSettings } from '../../src/shared/settings';
import { supportsOrthancVersion } from '../../src/main/core/upload';

const el = (keyword: string, vr: string, value: string) => [tagOf(keyword), textElement(tagOf(keyword), vr, value)] as const;

function instance(extra: Array<readonly [number, ReturnType<typeof textElement>]> = []): DicomDataset {
  return new Map([
    el('SOPClassUID', 'UI', '1.2.840.10008.5.1.4.1.1.1.2'),
    el('SOPInstanceUID', 'UI', '1.2.3.4.5'),
    el('StudyInstanceUID', 'UI', '1.2.3.4'),
    el('PatientName', 'PN', 'DOE^JANE'),
    el('PatientID', 'LO', 'MRN123'),
    ...extra,
  ]);
}

const identity = { patientId: 'MRN123', birthDate: '', studyDate: '20240102' } as InstanceIdentity;
const ctx = (siteCode?: string): DeidContext => ({
  settings: DeidSettings.parse({}),
  researchId: 'KGH-7F3K9Q2M',
  researchAccessionNumber: 'A1',
  researchStudyId: 'S1',
  siteCode,
  mapUid: (uid) => `2.25.${uid.replace(/\./g, '')}`,
});

describe('site code where researchers can filter on it', () => {
  it('writes the site code as Institution Name in place of the clinic\'s name', () => {
    const out = deidentifyDataset(instance([el('InstitutionName', 'LO', 'Kingston General Hospital')]), identity, ctx('KGH')).dataset;
    expect(stringValue(out, tagOf('InstitutionName'))).toBe('KGH');
  });

  it('adds Institution Name with the site code when the device left it out', () => {
    const out = deidentifyDataset(instance(), identity, ctx('KGH')).dataset;
    expect(stringValue(out, tagOf('InstitutionName'))).toBe('KGH');
  });

  it('still removes the clinic\'s name when no site code is given (Institution Name is Type 3 in General Equipment)', () => {
    const out = deidentifyDataset(instance([el('InstitutionName', 'LO', 'Kingston General Hospital')]), identity, ctx()).dataset;
    expect(out.has(tagOf('InstitutionName'))).toBe(false);
  });
});

describe('research Orthanc version check', () => {
  it('accepts the minimum and newer releases, refuses older ones', () => {
    expect(supportsOrthancVersion('1.9.0')).toBe(true);
    expect(supportsOrthancVersion('1.10.1')).toBe(true);
    expect(supportsOrthancVersion('1.12.4')).toBe(true);
    expect(supportsOrthancVersion('2.0')).toBe(true);
    expect(supportsOrthancVersion('1.8.2')).toBe(false);
    expect(supportsOrthancVersion('0.9.6')).toBe(false);
  });

  it('takes a mainline build (no release number) as recent', () => {
    expect(supportsOrthancVersion('mainline')).toBe(true);
  });
});
