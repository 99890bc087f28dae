import {
  type DicomDataset,
  type ParsedInstance,
  TEXT_VRS,
  decodeText,
  formatTag,
  keywordOf,
  specificCharacterSetOf,
  trimValue,
  PIXEL_DATA,
  groupOf,
  type Tag,
} from '../dicom';
import type { ByteSource } from '../dicom/source';

/** What the policy keeps on purpose: values found only there are not evidence of a leak. */
export interface RetainedByPolicy {
  /** True for an attribute the profile with its options keeps unchanged (Retain UIDs, Device or Institution Identity…). */
  keepsAttribute?(tag: Tag): boolean;
  /** The birth date rule leaves this birth date as it was (born on the day the rule writes). */
  birthDateUnchanged?: boolean;
}

/** Attributes whose values identify the patient, the people around them or the place (PS3.15 E.1-1 D/Z/X rows). */
const IDENTIFYING_KEYWORDS = new Set([
  'PatientID', 'OtherPatientIDs', 'IssuerOfPatientID', 'AccessionNumber', 'StudyID', 'PatientAddress',
  'PatientTelephoneNumbers', 'InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName', 'StationName',
  'DeviceSerialNumber', 'MedicalRecordLocator', 'RequestedProcedureID', 'ScheduledProcedureStepID',
  'PerformedProcedureStepID', 'AdmissionID', 'FillerOrderNumberImagingServiceRequest',
  'PlacerOrderNumberImagingServiceRequest', 'MilitaryRank', 'BranchOfService', 'RegionOfResidence',
  'CountryOfResidence', 'PatientInsurancePlanCodeSequence', 'PatientBirthName', 'PatientMotherBirthName',
]);

/** The values a de-identified instance must not contain: taken from its original, with where they came from. */
export interface IdentifyingValue {
  value: string;
  /**
   * Matched only as a whole token: short values (a 2-letter name must not hit every "LI" in the file) and name
   * components ("MARY" must not hit "SUMMARY").
   */
  wholeToken: boolean;
  /** A number: matched only where no digit adjoins it, so a short patient ID is not found inside a random 2.25 UID. */
  digitBounded?: boolean;
}

// Placeholders (an earlier anonymizer's, or the gateway's own dummy value) identify no one.
const PLACEHOLDERS = new Set(['ANONYMIZED', 'ANONYMISED', 'ANONYMOUS', 'UNKNOWN', 'NONE']);

const WELL_KNOWN_UID = /^1\.2\.840\.10008\./;
// UIDs that name a class or a syntax, not this patient's instance.
const NOT_INSTANCE_UID = /ClassUID$|TransferSyntaxUID$|^CodingSchemeUID$|^ImplementationClassUID$/;
// A value found in these is the maker's or a code's, kept by design.
const MAKER_OR_CODE = /^(Manufacturer|ManufacturerModelName|CodeValue|CodingSchemeDesignator|CodeMeaning|Modality|BodyPartExamined)$/;

/**
 * Collects identifying values of the original instance: every person-name component at any depth, the
 * identifying attributes above, every instance/series/study/frame UID (anything but well-known DICOM UIDs
 * and class UIDs), and the birth date in its usual spellings.
 */
export function identifyingValuesOf(original: DicomDataset, retained: RetainedByPolicy = {}): IdentifyingValue[] {
  const values = new Map<string, IdentifyingValue>();
  const kept = new Set<string>();
  const add = (v: string, nameComponent = false): void => {
    const value = v.trim();
    if (value.length < 2 || /^\d{1,3}$/.test(value) || PLACEHOLDERS.has(value.toUpperCase())) return;
    const key = value.toUpperCase();
    // The same text as an ID and as a name component: the stricter (substring) match wins.
    const wholeToken = value.length < 4 || (nameComponent && values.get(key)?.wholeToken !== false);
    values.set(key, { value, wholeToken, digitBounded: /^\d+$/.test(value) });
  };
  const walk = (ds: DicomDataset, inherited: string[]): void => {
    const charset = specificCharacterSetOf(ds, inherited);
    for (const e of ds.values()) {
      if (e.items) {
        e.items.forEach((item) => walk(item, charset));
        continue;
      }
      if (!e.value || !TEXT_VRS.has(e.vr)) continue;
      // Decided by tag before decoding: most attributes are neither identifying nor a maker's name.
      const keyword = keywordOf(e.tag) ?? '';
      const makerOrCode = MAKER_OR_CODE.test(keyword);
      const relevant = e.vr === 'PN' || IDENTIFYING_KEYWORDS.has(keyword) || (e.vr === 'UI' && !NOT_INSTANCE_UID.test(keyword)) || keyword === 'PatientBirthDate';
      if (!makerOrCode && (!relevant || retained.keepsAttribute?.(e.tag))) continue;
      const text = trimValue(decodeText(e.value, e.vr, charset), e.vr);
      if (!text) continue;
      if (e.vr === 'PN') {
        for (const part of text.split(/[\\^=]/)) add(part, true);
      } else if (IDENTIFYING_KEYWORDS.has(keyword)) {
        for (const part of text.split('\\')) add(part);
      } else if (e.vr === 'UI' && !NOT_INSTANCE_UID.test(keyword)) {
        for (const uid of text.split('\\')) if (!WELL_KNOWN_UID.test(uid) && uid.length > 8) add(uid);
      } else if (keyword === 'PatientBirthDate' && /^\d{8}$/.test(text) && !retained.birthDateUnchanged) {
        add(text);
        add(`${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)}`);
        add(`${text.slice(6)}/${text.slice(4, 6)}/${text.slice(0, 4)}`);
        add(`${text.slice(4, 6)}/${text.slice(6)}/${text.slice(0, 4)}`);
        add(`${text.slice(6)}.${text.slice(4, 6)}.${text.slice(0, 4)}`);
      } else if (makerOrCode) {
        kept.add(text.toUpperCase());
      }
    }
  };
  walk(original, []);
  // A removed value that is also the maker's name ("TOSHIBA" as institution) is not evidence of a leak.
  for (const [key] of values) if ([...kept].some((k) => k.includes(key))) values.delete(key);
  return [...values.values()];
}

/** Where a residual identifying value was found: the attribute path, never the value itself. */
export interface ResidualFinding {
  path: string;
}

interface Needle {
  text: string;
  wholeToken: boolean;
  digitBounded: boolean;
}

function matches(haystack: string, n: Needle): boolean {
  const needle = n.text;
  if (n.digitBounded && !n.wholeToken) {
    let at = haystack.indexOf(needle);
    while (at >= 0) {
      if (!/[0-9]/.test(haystack[at - 1] ?? ' ') && !/[0-9]/.test(haystack[at + needle.length] ?? ' ')) return true;
      at = haystack.indexOf(needle, at + 1);
    }
    return false;
  }
  if (!n.wholeToken) return haystack.includes(needle);
  let at = haystack.indexOf(needle);
  while (at >= 0) {
    const before = haystack[at - 1] ?? ' ';
    const after = haystack[at + needle.length] ?? ' ';
    if (!/[A-Z0-9]/.test(before) && !/[A-Z0-9]/.test(after)) return true;
    at = haystack.indexOf(needle, at + 1);
  }
  return false;
}

/**
 * Scans a de-identified instance (every element at every depth, private or not, decoded with its
 * character set) and its raw bytes outside pixel data for any identifying value of the original.
 */
export function findResidualPhi(output: ParsedInstance, identifying: IdentifyingValue[]): ResidualFinding[] {
  const needles: Needle[] = identifying.map((v) => ({ text: v.value.toUpperCase(), wholeToken: v.wholeToken, digitBounded: v.digitBounded ?? false }));
  const hit = (text: string): boolean => needles.some((n) => matches(text, n));
  const findings = new Map<string, ResidualFinding>();
  const walk = (ds: DicomDataset, inherited: string[], prefix: string): void => {
    const charset = specificCharacterSetOf(ds, inherited);
    for (const e of ds.values()) {
      if (e.items) {
        const name = `${prefix}${keywordOf(e.tag) ?? formatTag(e.tag)}`;
        e.items.forEach((item, i) => walk(item, charset, `${name}[${i}].`));
        continue;
      }
      // The image itself is out of scope (burned-in text has its own check); everything else is scanned.
      if (!e.value || (prefix === '' && groupOf(e.tag) === PIXEL_GROUP)) continue;
      const text = (TEXT_VRS.has(e.vr) ? decodeText(e.value, e.vr, charset) : e.value.toString('latin1')).toUpperCase();
      if (!hit(text)) continue;
      const name = `${prefix}${keywordOf(e.tag) ?? formatTag(e.tag)}`;
      findings.set(name, { path: name });
    }
  };
  walk(output.meta, [], 'FileMeta.');
  // Bytes outside pixel data hold every element's value too; an ASCII value is the same bytes in any DICOM
  // character set, so when all values are ASCII and the bytes hold none, no element can: the walk that names the
  // attribute runs only after a hit (or when a value is not ASCII and must be matched decoded).
  const raw = rawBytesOutsidePixelData(output.source, output.dataset).toString('latin1').toUpperCase();
  const rawHit = hit(raw);
  const ascii = needles.every((n) => /^[\x20-\x7e]*$/.test(n.text));
  if (rawHit || !ascii) walk(output.dataset, [], '');
  // Bytes no element accounts for (padding, a malformed tail).
  if (rawHit && findings.size === 0) findings.set('(file bytes)', { path: '(file bytes outside any attribute)' });
  return [...findings.values()];
}

const PIXEL_GROUP = 0x7fe0;

function rawBytesOutsidePixelData(source: ByteSource, dataset: DicomDataset): Buffer {
  const pixel = dataset.get(PIXEL_DATA);
  const all = (): Buffer => source.read(0, source.size);
  if (pixel?.bulk) {
    const { offset, length } = pixel.bulk;
    return Buffer.concat([source.read(0, offset), source.read(offset + length, source.size - offset - length)]);
  }
  if (!pixel?.value || pixel.value.length < 64) return all();
  // Pixel data small enough to be loaded has no recorded offset: it is found where it lies, normally last.
  const bytes = all();
  const tail = bytes.length - pixel.value.length;
  const at = tail >= 0 && bytes.subarray(tail).equals(pixel.value) ? tail : bytes.lastIndexOf(pixel.value);
  return at < 0 ? bytes : Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + pixel.value.length)]);
}
