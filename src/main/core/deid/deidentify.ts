import {
  type DicomDataset,
  type DicomElement,
  type Tag,
  TEXT_VRS,
  decodeText,
  isPrivate,
  groupOf,
  specificCharacterSetOf,
  stringValue,
  tagOf,
  textElement,
  trimValue,
  vrOf,
} from '../dicom';
import type { DeidSettings } from '../../../shared/settings';
import { applyBirthDateRule, ageOn } from '../../../shared/dates';
import { type ProfileOption, type ProfileAction, resolveAction, PROFILE_SOURCE } from './profile';
import type { InstanceIdentity } from './identity';

/** What the crosswalk decided for this instance's patient and study. */
export interface DeidContext {
  settings: DeidSettings;
  researchId: string;
  researchAccessionNumber: string;
  researchStudyId: string;
  /** Written as Institution Name so researchers can tell (and filter) which clinic a study came from. */
  siteCode?: string;
  /** Stable replacement for a UID: the same original always gives the same new UID. */
  mapUid(original: string): string;
}

export interface DeidResult {
  dataset: DicomDataset;
  sopInstanceUid: string;
  sopClassUid: string;
  studyInstanceUid: string;
}

const T = {
  PatientName: tagOf('PatientName'),
  PatientID: tagOf('PatientID'),
  PatientBirthDate: tagOf('PatientBirthDate'),
  PatientAge: tagOf('PatientAge'),
  AccessionNumber: tagOf('AccessionNumber'),
  StudyID: tagOf('StudyID'),
  InstitutionName: tagOf('InstitutionName'),
  SOPInstanceUID: tagOf('SOPInstanceUID'),
  SOPClassUID: tagOf('SOPClassUID'),
  StudyInstanceUID: tagOf('StudyInstanceUID'),
  StudyDate: tagOf('StudyDate'),
  SpecificCharacterSet: tagOf('SpecificCharacterSet'),
  PatientIdentityRemoved: tagOf('PatientIdentityRemoved'),
  DeidentificationMethod: tagOf('DeidentificationMethod'),
  DeidentificationMethodCodeSequence: tagOf('DeidentificationMethodCodeSequence'),
  LongitudinalTemporalInformationModified: tagOf('LongitudinalTemporalInformationModified'),
  CodeValue: tagOf('CodeValue'),
  CodingSchemeDesignator: tagOf('CodingSchemeDesignator'),
  CodeMeaning: tagOf('CodeMeaning'),
};

/** The options of PS3.15 that the settings switch on. */
export function enabledOptions(settings: DeidSettings): Set<ProfileOption> {
  const on = new Set<ProfileOption>(['rtnLongFullDatesOpt', 'cleanDescOpt']);
  if (settings.retainPatientCharacteristics) on.add('rtnPatCharsOpt');
  return on;
}

/** CID 7050 codes for the profile and options applied, as PS3.16 lists them. */
function methodCodes(options: Set<ProfileOption>): Array<[string, string]> {
  const codes: Array<[string, string]> = [['113100', 'Basic Application Confidentiality Profile']];
  if (options.has('rtnPatCharsOpt')) codes.push(['113108', 'Retain Patient Characteristics Option']);
  if (options.has('rtnLongFullDatesOpt')) codes.push(['113106', 'Retain Longitudinal Temporal Information Full Dates Option']);
  if (options.has('cleanDescOpt')) codes.push(['113105', 'Clean Descriptors Option']);
  return codes;
}

const DUMMY_TEXT: Record<string, string> = {
  AS: '000Y',
  DA: '19000101',
  DT: '19000101000000',
  TM: '000000',
  DS: '0',
  IS: '0',
};

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
  const birth = stringValue(ds, T.PatientBirthDate, charset);
  if (birth && /^\d{8}$/.test(birth)) {
    values.add(birth);
    values.add(`${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6)}`);
    values.add(`${birth.slice(6)}/${birth.slice(4, 6)}/${birth.slice(0, 4)}`);
    values.add(`${birth.slice(4, 6)}/${birth.slice(6)}/${birth.slice(0, 4)}`);
  }
  // Longest first, so "HOLLOWAY-SMITH" is removed before "HOLLOWAY".
  return [...values].sort((a, b) => b.length - a.length);
}

const FREE_TEXT_VRS = new Set(['LT', 'ST', 'UT']);
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

interface Walk {
  options: Set<ProfileOption>;
  ctx: DeidContext;
  identifying: string[];
}

function mapUids(e: DicomElement, w: Walk): DicomElement {
  if (!e.value) return e;
  const originals = trimValue(e.value.toString('latin1'), 'UI').split('\\');
  const mapped = originals.map((u) => (u.trim() ? w.ctx.mapUid(u.trim()) : ''));
  return textElement(e.tag, 'UI', mapped.join('\\'));
}

function dummy(e: DicomElement, w: Walk): DicomElement | undefined {
  if (e.vr === 'UI') return mapUids(e, w);
  if (TEXT_VRS.has(e.vr)) {
    const text = DUMMY_TEXT[e.vr] ?? (e.vr === 'UR' ? '' : 'ANONYMIZED');
    return textElement(e.tag, e.vr, text);
  }
  // Binary values: same length, all zero, so VM and VR stay consistent.
  return { tag: e.tag, vr: e.vr, value: Buffer.alloc(e.value?.length ?? 0) };
}

function applyAction(action: ProfileAction, e: DicomElement, w: Walk, charset: string[]): DicomElement | undefined {
  if (e.items) {
    switch (action) {
      case 'remove':
        return undefined;
      case 'empty':
        return { tag: e.tag, vr: 'SQ', items: [] };
      default:
        // Keep, dummy, clean or uid on a sequence: keep its structure and de-identify every item.
        return { tag: e.tag, vr: 'SQ', items: e.items.map((item) => walkDataset(item, w, charset)) };
    }
  }
  if (e.bulk) {
    // Only pixel data is left on disk; anything else large that the profile touches is dropped.
    return action === 'keep' ? e : undefined;
  }
  switch (action) {
    case 'keep':
      return e;
    case 'remove':
      return undefined;
    case 'empty':
      return { tag: e.tag, vr: e.vr, value: Buffer.alloc(0) };
    case 'dummy':
      return dummy(e, w);
    case 'uid':
      return e.vr === 'UI' ? mapUids(e, w) : dummy(e, w);
    case 'clean': {
      if (!e.value || !TEXT_VRS.has(e.vr)) return e;
      if (['DA', 'DT', 'TM'].includes(e.vr)) return e; // dates under Retain Longitudinal Modified: not enabled yet
      // Free text (comments, notes) can name anyone (a relative, a phone number) that no list of this
      // instance's values would catch: it cannot be shown clean, so it goes. Short descriptors are scrubbed.
      if (FREE_TEXT_VRS.has(e.vr)) return undefined;
      const text = trimValue(decodeText(e.value, e.vr, charset), e.vr);
      const cleaned = cleanText(text, w.identifying);
      if (cleaned === text) return e;
      return textElement(e.tag, e.vr, cleaned);
    }
  }
}

function walkDataset(ds: DicomDataset, w: Walk, inheritedCharset: string[]): DicomDataset {
  const charset = specificCharacterSetOf(ds, inheritedCharset);
  const out: DicomDataset = new Map();
  for (const [t, e] of ds) {
    const kept = walkElement(t, e, w, charset);
    if (kept) out.set(t, kept);
  }
  return out;
}

function walkElement(t: Tag, e: DicomElement, w: Walk, charset: string[]): DicomElement | undefined {
  // File meta and command groups never belong in a dataset; private attributes are removed
  // (Retain Safe Private is off), along with their creator elements.
  if (groupOf(t) <= 0x0002 || isPrivate(t)) return undefined;
  switch (t) {
    case T.PatientName:
    case T.PatientID:
      return textElement(t, e.vr === 'UN' ? vrOf(t) : e.vr, w.ctx.researchId);
    case T.PatientBirthDate: {
      const original = e.value ? trimValue(e.value.toString('latin1'), 'DA') : '';
      return textElement(t, 'DA', original ? applyBirthDateRule(original, w.ctx.settings.birthDate) : '');
    }
    case T.AccessionNumber:
      return textElement(t, 'SH', w.ctx.researchAccessionNumber);
    case T.StudyID:
      return textElement(t, 'SH', w.ctx.researchStudyId);
    case T.InstitutionName:
      if (w.ctx.siteCode) return textElement(t, 'LO', w.ctx.siteCode);
      break;
  }
  const action = resolveAction(t, w.options);
  if (action === undefined) {
    // Not in the table: kept, as the standard's profile lists what to change; sequences are still walked.
    return e.items ? { tag: t, vr: 'SQ', items: e.items.map((item) => walkDataset(item, w, charset)) } : e;
  }
  return applyAction(action, e, w, charset);
}

/** Applies the PS3.15 Basic Profile with the configured options to a parsed instance's dataset. */
export function deidentifyDataset(original: DicomDataset, identity: InstanceIdentity, ctx: DeidContext): DeidResult {
  const options = enabledOptions(ctx.settings);
  const charset = specificCharacterSetOf(original);
  const w: Walk = { options, ctx, identifying: identifyingValues(original, charset) };
  const ds = walkDataset(original, w, []);

  // Age matters for breast-cancer research: computed from the real dates before they are modified.
  if (ctx.settings.retainPatientCharacteristics && !stringValue(ds, T.PatientAge)) {
    const onDate = identity.studyDate || stringValue(original, tagOf('SeriesDate')) || stringValue(original, tagOf('AcquisitionDate')) || '';
    const age = ageOn(identity.birthDate, onDate);
    if (age) ds.set(T.PatientAge, textElement(T.PatientAge, 'AS', age));
  }
  // Type 2 attributes of the Patient and General Study modules stay present even when absent in the input.
  if (!ds.has(T.PatientName)) ds.set(T.PatientName, textElement(T.PatientName, 'PN', ctx.researchId));
  if (!ds.has(T.PatientID)) ds.set(T.PatientID, textElement(T.PatientID, 'LO', ctx.researchId));
  if (ctx.siteCode && !ds.has(T.InstitutionName)) ds.set(T.InstitutionName, textElement(T.InstitutionName, 'LO', ctx.siteCode));

  const birth = ctx.settings.birthDate;
  ds.set(T.PatientIdentityRemoved, textElement(T.PatientIdentityRemoved, 'CS', 'YES'));
  const method = [
    'PS3.15 E.1-1 Basic Profile',
    `table ${PROFILE_SOURCE.retrieved}`,
    birth.keep === 'month' ? `birth date YYYYMM${String(birth.day).padStart(2, '0')}` : `birth date YYYY${String(birth.month).padStart(2, '0')}${String(birth.day).padStart(2, '0')}`,
  ];
  ds.set(T.DeidentificationMethod, textElement(T.DeidentificationMethod, 'LO', method.join('\\')));
  ds.set(T.DeidentificationMethodCodeSequence, {
    tag: T.DeidentificationMethodCodeSequence,
    vr: 'SQ',
    items: methodCodes(options).map(([value, meaning]) =>
      new Map([
        [T.CodeValue, textElement(T.CodeValue, 'SH', value)],
        [T.CodingSchemeDesignator, textElement(T.CodingSchemeDesignator, 'SH', 'DCM')],
        [T.CodeMeaning, textElement(T.CodeMeaning, 'LO', meaning)],
      ]),
    ),
  });
  // The birth date is always modified; study dates are kept as they are.
  ds.set(T.LongitudinalTemporalInformationModified, textElement(T.LongitudinalTemporalInformationModified, 'CS', 'MODIFIED'));

  const sopInstanceUid = stringValue(ds, T.SOPInstanceUID);
  const studyInstanceUid = stringValue(ds, T.StudyInstanceUID);
  const sopClassUid = stringValue(ds, T.SOPClassUID);
  if (!sopInstanceUid || !studyInstanceUid || !sopClassUid) throw new Error('De-identification lost a required UID');
  return { dataset: ds, sopInstanceUid, sopClassUid, studyInstanceUid };
}
