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
import { ageOn } from '../../../shared/dates';
import { type ProfileOption, type ProfileAction, type Placement, resolveAction, actionForCode, attributeTypeAt, profileRowFor, PROFILE_SOURCE } from './profile';
import { birthDateRuleOnValue, dateRuleMethods, studyDateRuleOnValue } from './date-rules';
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
  LongCodeValue: tagOf('LongCodeValue'),
  URNCodeValue: tagOf('URNCodeValue'),
  EncapsulatedDocument: tagOf('EncapsulatedDocument'),
  PatientBirthDateInAlternativeCalendar: tagOf('PatientBirthDateInAlternativeCalendar'),
  PatientDeathDateInAlternativeCalendar: tagOf('PatientDeathDateInAlternativeCalendar'),
  PatientAlternativeCalendar: tagOf('PatientAlternativeCalendar'),
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
  // D needs a non-empty value; the reserved .invalid domain (RFC 2606) can never resolve to anyone.
  UR: 'http://anonymized.invalid/',
};

const FREE_TEXT_VRS = new Set(['LT', 'ST', 'UT']);
interface Walk {
  options: Set<ProfileOption>;
  ctx: DeidContext;
  cleaner: DescriptorCleaner;
  privates: SafePrivateFilter | undefined;
}

/** The study-date rule applied to a DA or DT value, read per PS3.5 (date-rules.ts). */
function modifyDate(e: DicomElement, w: Walk): DicomElement {
  const rule = w.ctx.settings.studyDates;
  if (!e.value || rule.keep === 'all') return e;
  if (rule.keep === 'shift' && w.ctx.dateShiftDays === undefined) {
    throw new DeidentificationError('Dates are to be shifted but no date shift was given for the patient');
  }
  const text = trimValue(e.value.toString('latin1'), e.vr);
  return textElement(e.tag, e.vr, studyDateRuleOnValue(e.vr === 'DT' ? 'DT' : 'DA', text, rule, w.ctx.dateShiftDays));
}

/**
 * An item of a Code Sequence Macro (PS3.3 Table 8.8-1). In a sequence the table replaces (D) or cleans (C), its
 * Code Value and Code Meaning can be a person's name and staff number (Person Identification Code Sequence) or an
 * institution's name and code (Institution Code Sequence): they are not codes a researcher needs.
 */
function isCodeItem(item: DicomDataset): boolean {
  return item.has(T.CodeValue) || item.has(T.LongCodeValue) || item.has(T.URNCodeValue) || item.has(T.CodeMeaning);
}

// A local coding scheme ("99" prefix, PS3.16 8.2) so the dummy can never be read as a real code.
const DUMMY_CODE: ReadonlyArray<[Tag, string, string]> = [
  [T.CodeValue, 'SH', 'ANONYMIZED'],
  [T.CodingSchemeDesignator, 'SH', '99DEID'],
  [T.CodeMeaning, 'LO', 'ANONYMIZED'],
];

/** One dummy code item, whatever the original items said: a Type 1 sequence keeps an item, no value survives. */
function dummyCodeItems(): DicomDataset[] {
  return [new Map(DUMMY_CODE.map(([t, vr, text]) => [t, textElement(t, vr, text)]))];
}

/** A sequence the profile keeps in some form: its items are de-identified with the sequence as their placement. */
function walkItems(e: DicomElement, w: Walk, charset: string[]): DicomDataset[] {
  return (e.items ?? []).map((item) => walkDataset(item, w, charset, e.tag));
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
    const text = DUMMY_TEXT[e.vr] ?? 'ANONYMIZED';
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
      case 'dummy':
        if (e.items.some(isCodeItem)) return { tag: e.tag, vr: 'SQ', items: dummyCodeItems() };
        return { tag: e.tag, vr: 'SQ', items: walkItems(e, w, charset) };
      case 'clean': {
        // Coded descriptors (diagnoses, reasons): the code stays, its meaning is cleaned like any descriptor.
        const items = walkItems(e, w, charset).map((item) => {
          const meaning = item.get(T.CodeMeaning);
          if (!meaning) return item;
          const cleaned = applyAction('clean', meaning, w, charset);
          if (cleaned) item.set(T.CodeMeaning, cleaned);
          else item.delete(T.CodeMeaning);
          return item;
        });
        return { tag: e.tag, vr: 'SQ', items };
      }
      default:
        // Keep or uid on a sequence: keep its structure and de-identify every item.
        return { tag: e.tag, vr: 'SQ', items: walkItems(e, w, charset) };
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

function walkDataset(ds: DicomDataset, w: Walk, inheritedCharset: string[], placement: Placement = 'top'): DicomDataset {
  const charset = specificCharacterSetOf(ds, inheritedCharset);
  const kept = w.privates?.keptIn(ds);
  const out: DicomDataset = new Map();
  for (const [t, e] of ds) {
    const result = isPrivate(t) ? privateElement(e, w, charset, kept) : walkElement(t, e, w, charset, placement);
    // A large binary value inside a sequence (left on disk by the parser) is no image the research needs, and the
    // residual check would have to load it to search it: it is removed, as the pixel data of an icon would be.
    if (placement !== 'top' && result?.bulk) continue;
    if (result) out.set(t, result);
  }
  return out;
}

/** Private attributes are removed, unless Retain Safe Private is on and the allow-list names them. */
function privateElement(e: DicomElement, w: Walk, charset: string[], kept: ReadonlySet<Tag> | undefined): DicomElement | undefined {
  if (!kept?.has(e.tag)) return undefined;
  return e.items ? { tag: e.tag, vr: 'SQ', items: walkItems(e, w, charset) } : e;
}

const DATE_VRS = new Set(['DA', 'DT']);
/** GSPS and annotation text, with what a Type 1 one holds when nothing of it may stay. */
const PRESENTATION_TEXT = new Map<Tag, string>([
  [tagOf('ContentDescription'), ''],
  [tagOf('GraphicLayerDescription'), ''],
  [tagOf('UnformattedTextValue'), 'ANONYMIZED'],
  [tagOf('ContentLabel'), 'LABEL'],
]);

/** Even groups 6000–601E (overlays) and 5000–501E (curves): one repeating group per overlay or curve. */
const isRepeatingGroup = (g: number, base: number): boolean => (g & 1) === 0 && g >= base && g <= base + 0x1e;

function walkElement(t: Tag, e: DicomElement, w: Walk, charset: string[], placement: Placement): DicomElement | undefined {
  // File meta and command groups never belong in a dataset.
  if (groupOf(t) <= 0x0002) return undefined;
  // The table lists Overlay Data and Comments, but Overlay Label and Description are free text too, and an
  // Overlay Plane without its Type 1 Overlay Data is invalid: each overlay and curve group goes as a whole.
  if (isRepeatingGroup(groupOf(t), 0x6000) || isRepeatingGroup(groupOf(t), 0x5000)) return undefined;
  switch (t) {
    // The birth date in another calendar is the birth date: no rule can truncate a calendar we do not know.
    case T.PatientBirthDateInAlternativeCalendar:
    case T.PatientDeathDateInAlternativeCalendar:
    case T.PatientAlternativeCalendar:
      return undefined;
    // Encapsulated documents are held for review by SOP class (burned-in.ts) unless the settings allow them, so
    // the document is what a reviewer releases: a dummy would deliver an empty report in a valid-looking file.
    case T.EncapsulatedDocument:
      return e;
    case T.PatientName:
    case T.PatientID:
      return textElement(t, e.vr === 'UN' ? vrOf(t) : e.vr, w.ctx.researchId);
    case T.PatientBirthDate: {
      const original = e.value ? trimValue(e.value.toString('latin1'), 'DA') : '';
      return textElement(t, 'DA', original ? birthDateRuleOnValue(original, w.ctx.settings.birthDate) : '');
    }
    case T.AccessionNumber:
      return textElement(t, 'SH', w.ctx.researchAccessionNumber);
    case T.StudyID:
      return textElement(t, 'SH', w.ctx.researchStudyId);
    case T.InstitutionName:
      if (w.ctx.siteCode) return textElement(t, 'LO', w.ctx.siteCode);
      break;
  }
  const type = attributeTypeAt(t, placement);
  const action = resolveAction(t, w.options, type);
  // Presentation text (GSPS, annotations) is cleaned like a descriptor where the table lists no action for it, or
  // says clean (Clean Descriptors); otherwise its row decides (a dummy for a Type 1 Unformatted Text Value).
  if (PRESENTATION_TEXT.has(t) && (action === undefined || action === 'clean')) return w.cleaner.cleanElement(e, charset, PRESENTATION_TEXT.get(t));
  if (action === undefined) {
    // Not in the table: kept, as the standard's profile lists what to change; sequences are still walked.
    if (e.items) return { tag: t, vr: 'SQ', items: walkItems(e, w, charset) };
    // A date the tables do not list (a newer edition's attribute) still follows the study-date rule.
    if (DATE_VRS.has(e.vr)) return modifyDate(e, w);
    // Free text the tables do not list (an SR's Text Value) can name anyone: a dummy keeps a type 1 attribute valid.
    if (FREE_TEXT_VRS.has(e.vr) && e.value?.length) return dummy(e, w);
    return e;
  }
  const result = applyAction(action, e, w, charset);
  if (result) return result;
  // An option never makes absent what the Basic Profile keeps present (D, Z, U, K: the table's way of saying the
  // attribute is required): free text that Clean Descriptors cannot show clean falls back to the basic action,
  // a dummy, rather than leaving a Type 1 attribute (a GSPS Unformatted Text Value) missing.
  const basic = profileRowFor(t)?.basic;
  if (basic && !basic.includes('X')) {
    const fallback = actionForCode(basic, type);
    if (fallback !== action) return applyAction(fallback, e, w, charset);
  }
  return undefined;
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

/** DeidentificationMethod values (LO, at most 64 characters each): the profile and what each date rule did. */
export function describeMethod(settings: DeidSettings): string[] {
  return ['PS3.15 E.1-1 Basic Profile', `table ${PROFILE_SOURCE.edition}`, ...dateRuleMethods(settings.birthDate, settings.studyDates)];
}
