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
import { applyBirthDateRule, ageOn, applyStudyDateRule, applyStudyDateTimeRule } from '../../../shared/dates';
import { type ProfileOption, type ProfileAction, resolveAction, PROFILE_SOURCE } from './profile';
import { encodeText } from './charset';
import { SafePrivateFilter } from './safe-private';
import type { InstanceIdentity } from './identity';
import { deidPolicy } from './policy';
import { DescriptorCleaner } from './descriptor-cleaner';

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
  /** The patient's date shift in days, from the crosswalk; needed only with studyDates.keep "shift". */
  dateShiftDays?: number;
}

/** Thrown when the settings ask for something the context cannot supply; the instance is held, never sent. */
export class DeidentificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeidentificationError';
  }
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
  const on = new Set<ProfileOption>();
  if (settings.retainPatientCharacteristics) on.add('rtnPatCharsOpt');
  if (settings.retainDeviceIdentity) on.add('rtnDevIdOpt');
  if (settings.retainInstitutionIdentity) on.add('rtnInstIdOpt');
  if (settings.retainUids) on.add('rtnUIDsOpt');
  if (settings.retainSafePrivate.enabled) on.add('rtnSafePrivOpt');
  if (settings.cleanDescriptors) on.add('cleanDescOpt');
  on.add(settings.studyDates.keep === 'all' ? 'rtnLongFullDatesOpt' : 'rtnLongModifDatesOpt');
  return on;
}

/** CID 7050 codes (PS3.16) for the profile and each option applied, in the code's order. */
const OPTION_CODES: Array<[ProfileOption, string, string]> = [
  ['cleanDescOpt', '113105', 'Clean Descriptors Option'],
  ['rtnLongFullDatesOpt', '113106', 'Retain Longitudinal Temporal Information Full Dates Option'],
  ['rtnLongModifDatesOpt', '113107', 'Retain Longitudinal Temporal Information Modified Dates Option'],
  ['rtnPatCharsOpt', '113108', 'Retain Patient Characteristics Option'],
  ['rtnDevIdOpt', '113109', 'Retain Device Identity Option'],
  ['rtnUIDsOpt', '113110', 'Retain UIDs Option'],
  ['rtnSafePrivOpt', '113111', 'Retain Safe Private Option'],
  ['rtnInstIdOpt', '113112', 'Retain Institution Identity Option'],
];

export function methodCodes(options: ReadonlySet<ProfileOption>): Array<[string, string]> {
  const codes: Array<[string, string]> = [['113100', 'Basic Application Confidentiality Profile']];
  for (const [option, value, meaning] of OPTION_CODES) if (options.has(option)) codes.push([value, meaning]);
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

const FREE_TEXT_VRS = new Set(['LT', 'ST', 'UT']);
interface Walk {
  options: Set<ProfileOption>;
  ctx: DeidContext;
  cleaner: DescriptorCleaner;
  privates: SafePrivateFilter | undefined;
}

/** The study-date rule applied to a DA or DT value (each of several values, and each end of a range). */
function modifyDate(e: DicomElement, w: Walk): DicomElement {
  const rule = w.ctx.settings.studyDates;
  if (!e.value || rule.keep === 'all') return e;
  if (rule.keep === 'shift' && w.ctx.dateShiftDays === undefined) {
    throw new DeidentificationError('Dates are to be shifted but no date shift was given for the patient');
  }
  const apply = e.vr === 'DT' ? applyStudyDateTimeRule : applyStudyDateRule;
  const text = trimValue(e.value.toString('latin1'), e.vr);
  const modified = text
    .split('\\')
    .map((v) => v.split('-').map((part) => (part.trim() ? apply(part, rule, w.ctx.dateShiftDays) : '')).join('-'))
    .map((v) => (/^-*$/.test(v) ? '' : v));
  const joined = modified.every((v) => v === '') ? '' : modified.join('\\');
  return textElement(e.tag, e.vr, joined);
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
      if (e.vr === 'DA' || e.vr === 'DT') return modifyDate(e, w);
      // A time of day without its date identifies no one; a whole-day shift keeps it exact.
      if (e.vr === 'TM') return e;
      // A value we cannot read as text cannot be shown clean.
      if (!TEXT_VRS.has(e.vr)) return undefined;
      if (!e.value) return e;
      // Free text (comments, notes) can name anyone (a relative, a phone number) that no list of this
      // instance's values would catch: it cannot be shown clean, so it goes. Short descriptors are scrubbed.
      if (FREE_TEXT_VRS.has(e.vr)) return undefined;
      const text = trimValue(decodeText(e.value, e.vr, charset), e.vr);
      const cleaned = w.cleaner.clean(text);
      if (cleaned === text) return e;
      const bytes = encodeText(cleaned, e.vr, charset);
      // Text we cannot write back in the instance's character set is emptied rather than mis-encoded.
      return { tag: e.tag, vr: e.vr, value: bytes ?? Buffer.alloc(0) };
    }
  }
}

function walkDataset(ds: DicomDataset, w: Walk, inheritedCharset: string[]): DicomDataset {
  const charset = specificCharacterSetOf(ds, inheritedCharset);
  const kept = w.privates?.keptIn(ds);
  const out: DicomDataset = new Map();
  for (const [t, e] of ds) {
    const result = isPrivate(t) ? privateElement(e, w, charset, kept) : walkElement(t, e, w, charset);
    if (result) out.set(t, result);
  }
  return out;
}

/** Private attributes are removed, unless Retain Safe Private is on and the allow-list names them. */
function privateElement(e: DicomElement, w: Walk, charset: string[], kept: ReadonlySet<Tag> | undefined): DicomElement | undefined {
  if (!kept?.has(e.tag)) return undefined;
  return e.items ? { tag: e.tag, vr: 'SQ', items: e.items.map((item) => walkDataset(item, w, charset)) } : e;
}

const DATE_VRS = new Set(['DA', 'DT']);
/** GSPS and annotation text, with what a Type 1 one holds when nothing of it may stay. */
const PRESENTATION_TEXT = new Map<Tag, string>([
  [tagOf('ContentDescription'), ''],
  [tagOf('GraphicLayerDescription'), ''],
  [tagOf('UnformattedTextValue'), 'ANONYMIZED'],
  [tagOf('ContentLabel'), 'LABEL'],
]);

function walkElement(t: Tag, e: DicomElement, w: Walk, charset: string[]): DicomElement | undefined {
  // File meta and command groups never belong in a dataset.
  if (groupOf(t) <= 0x0002) return undefined;
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
  // Presentation text (GSPS, annotations) is free text the table does not list: cleaned like a descriptor.
  if (PRESENTATION_TEXT.has(t)) return w.cleaner.cleanElement(e, charset, PRESENTATION_TEXT.get(t));
  const action = resolveAction(t, w.options);
  if (action === undefined) {
    // Not in the table: kept, as the standard's profile lists what to change; sequences are still walked.
    if (e.items) return { tag: t, vr: 'SQ', items: e.items.map((item) => walkDataset(item, w, charset)) };
    // A date the tables do not list (a newer edition's attribute) still follows the study-date rule.
    if (DATE_VRS.has(e.vr)) return modifyDate(e, w);
    // Free text the tables do not list (an SR's Text Value) can name anyone: a dummy keeps a type 1 attribute valid.
    if (FREE_TEXT_VRS.has(e.vr) && e.value?.length) return dummy(e, w);
    return e;
  }
  return applyAction(action, e, w, charset);
}

/** Applies the PS3.15 Basic Profile with the configured options to a parsed instance's dataset. */
export function deidentifyDataset(original: DicomDataset, identity: InstanceIdentity, ctx: DeidContext): DeidResult {
  const options = enabledOptions(ctx.settings);
  const privates = options.has('rtnSafePrivOpt') ? new SafePrivateFilter(ctx.settings.retainSafePrivate.allowList) : undefined;
  const w: Walk = { options, ctx, cleaner: new DescriptorCleaner(original), privates };
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

  ds.set(T.PatientIdentityRemoved, textElement(T.PatientIdentityRemoved, 'CS', 'YES'));
  // The policy's short hash names the exact rules (full description in the job store), within LO's 64 characters.
  const method = [...describeMethod(ctx.settings), `policy ${deidPolicy(ctx.settings, ctx.siteCode).shortHash}`];
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
  // The birth date is always modified by its rule, so the dates as a whole are never UNMODIFIED.
  ds.set(T.LongitudinalTemporalInformationModified, textElement(T.LongitudinalTemporalInformationModified, 'CS', 'MODIFIED'));

  const sopInstanceUid = stringValue(ds, T.SOPInstanceUID);
  const studyInstanceUid = stringValue(ds, T.StudyInstanceUID);
  const sopClassUid = stringValue(ds, T.SOPClassUID);
  if (!sopInstanceUid || !studyInstanceUid || !sopClassUid) throw new Error('De-identification lost a required UID');
  return { dataset: ds, sopInstanceUid, sopClassUid, studyInstanceUid };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** DeidentificationMethod values (LO, at most 64 characters each): the profile and what each date rule did. */
export function describeMethod(settings: DeidSettings): string[] {
  const birth = settings.birthDate;
  const dates = settings.studyDates;
  const method = [
    'PS3.15 E.1-1 Basic Profile',
    `table ${PROFILE_SOURCE.retrieved} + 2024b supplement`,
    birth.keep === 'month' ? `birth date YYYYMM${pad2(birth.day)}` : `birth date YYYY${pad2(birth.month)}${pad2(birth.day)}`,
  ];
  switch (dates.keep) {
    case 'all':
      method.push('study dates kept');
      break;
    case 'month':
      method.push(`study dates YYYYMM${pad2(dates.day)}`);
      break;
    case 'year':
      method.push(`study dates YYYY${pad2(dates.month)}${pad2(dates.day)}`);
      break;
    case 'shift':
      method.push('study dates shifted by a per-patient offset');
      break;
  }
  return method;
}
