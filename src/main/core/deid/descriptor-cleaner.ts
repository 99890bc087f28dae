import { type DicomDataset, stringValue, tagOf } from '../dicom';

/**
 * Values of this instance that identify the patient or the people and places around them.
 * Descriptors are cleaned of them (Clean Descriptors Option).
 */
function identifyingValues(ds: DicomDataset, charset: string[]): string[] {
  const values = new Set<string>();
  const add = (v: string | undefined): void => {
    if (!v) return;
    for (const part of v.split(/[\\^=]/)) {
      const p = part.trim();
      if (p.length >= 2) values.add(p);
    }
  };
  const keywords = [
    'PatientName', 'PatientID', 'IssuerOfPatientID', 'OtherPatientIDs', 'OtherPatientNames', 'PatientBirthName',
    'PatientMotherBirthName', 'PatientAddress', 'PatientTelephoneNumbers', 'AccessionNumber', 'StudyID',
    'InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName', 'ReferringPhysicianName',
    'PerformingPhysicianName', 'OperatorsName', 'NameOfPhysiciansReadingStudy', 'PhysiciansOfRecord',
    'RequestingPhysician', 'StationName', 'DeviceSerialNumber', 'MilitaryRank', 'BranchOfService', 'MedicalRecordLocator',
  ];
  for (const k of keywords) add(stringValue(ds, tagOf(k), charset));
  const birth = stringValue(ds, tagOf('PatientBirthDate'), charset);
  if (birth && /^\d{8}$/.test(birth)) {
    values.add(birth);
    values.add(`${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6)}`);
    values.add(`${birth.slice(6)}/${birth.slice(4, 6)}/${birth.slice(0, 4)}`);
    values.add(`${birth.slice(4, 6)}/${birth.slice(6)}/${birth.slice(0, 4)}`);
  }
  // Longest first, so "HOLLOWAY-SMITH" is removed before "HOLLOWAY".
  return [...values].sort((a, b) => b.length - a.length);
}

// Phone numbers and dates written as text, whoever they belong to.
const GENERIC_IDENTIFIERS = [/\+?\d[\d ().-]{6,}\d/g, /\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b/g];

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function cleanText(text: string, identifying: string[]): string {
  let out = text;
  for (const v of identifying) {
    // Short values only as whole words, so "LI" does not eat "CLINICAL".
    const pattern = v.length < 4 ? new RegExp(`\\b${escapeRegExp(v)}\\b`, 'gi') : new RegExp(escapeRegExp(v), 'gi');
    out = out.replace(pattern, '');
  }
  for (const pattern of GENERIC_IDENTIFIERS) out = out.replace(pattern, '');
  return out.replace(/\s{2,}/g, ' ').trim();
}

/** Cleans descriptors (Clean Descriptors Option) of one instance's identifying values, known before anything changes. */
export class DescriptorCleaner {
  private readonly identifying: string[];

  constructor(original: DicomDataset, charset: string[]) {
    this.identifying = identifyingValues(original, charset);
  }

  /** The descriptor without anything that identifies; the same string when nothing had to go. */
  clean(text: string): string {
    return cleanText(text, this.identifying);
  }
}
