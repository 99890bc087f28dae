import { type DicomDataset, type Tag, TEXT_VRS, decodeText, keywordOf, specificCharacterSetOf, trimValue } from '../dicom';

/**
 * Every person, identifier, place and birth date an instance carries, read from the original before anything
 * changes: the descriptor cleaner removes them from text, and the residual check looks for them in the output.
 * Collected from every depth, so a technologist named only in Actual Human Performers Sequence or in a Person
 * Identification Code Sequence counts as much as the patient.
 */
export interface IdentifyingValues {
  /** Name components (all component groups: alphabetic, ideographic, phonetic) and their written-together forms. */
  names: string[];
  /** Single words of multi-word names ("Anna" of "Anna Maria"), matched only as whole words. */
  nameWords: string[];
  /** IDs: patient, other patient IDs, issuers, accession, request/procedure/order, staff codes, device serials/IDs. */
  identifiers: string[];
  /** Institution, department, addresses, station: whole values. */
  places: string[];
  /** The real birth date(s), YYYYMMDD. */
  birthDates: string[];
  /** Birth and death dates in the patient's alternative calendar, as written. */
  alternativeCalendarDates: string[];
  /** Instance, series, study and other instance-level UIDs (not well-known DICOM UIDs or class UIDs). */
  uids: string[];
}

export interface CollectOptions {
  /** Attributes kept on purpose by the policy (Retain Device Identity…): their values are not collected. */
  keepsAttribute?(tag: Tag): boolean;
}

const IDENTIFIER_KEYWORDS = new Set([
  'PatientID', 'OtherPatientIDs', 'IssuerOfPatientID', 'AccessionNumber', 'StudyID', 'RequestedProcedureID',
  'ScheduledProcedureStepID', 'PerformedProcedureStepID', 'AdmissionID', 'ServiceEpisodeID',
  'PlacerOrderNumberImagingServiceRequest', 'FillerOrderNumberImagingServiceRequest', 'RETIRED_PlacerOrderNumberProcedure',
  'RETIRED_FillerOrderNumberProcedure', 'RETIRED_PlacerOrderNumberImagingServiceRequestRetired',
  'RETIRED_FillerOrderNumberImagingServiceRequestRetired', 'RETIRED_IssuerOfAdmissionID', 'RETIRED_IssuerOfServiceEpisodeID',
  'RETIRED_StudyIDIssuer', 'RETIRED_InsurancePlanIdentification', 'MedicalRecordLocator', 'LocalNamespaceEntityID', 'UniversalEntityID',
  'DeviceSerialNumber', 'DeviceID', 'GantryID', 'DetectorID', 'XRayDetectorID', 'SecondaryCaptureDeviceID', 'UniqueDeviceIdentifier',
  'RETIRED_HardcopyCreationDeviceID', 'StationName', 'ScheduledStationName', 'PerformedStationName', 'PatientTelephoneNumbers',
  'PersonTelephoneNumbers', 'ReferringPhysicianTelephoneNumbers', 'ClinicalTrialSubjectID', 'ClinicalTrialSubjectReadingID',
  'ClinicalTrialSiteID', 'IssuerOfClinicalTrialSubjectID', 'IssuerOfClinicalTrialSiteID',
]);

const PLACE_KEYWORDS = new Set([
  'InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName', 'ReferringPhysicianAddress', 'PatientAddress',
  'PersonAddress', 'ResponsibleOrganization', 'HumanPerformerOrganization', 'MilitaryRank', 'BranchOfService',
  'RegionOfResidence', 'CountryOfResidence', 'RETIRED_AddressTrial', 'RETIRED_TelephoneNumberTrial',
]);

/** Code sequences whose code names a person (Code Value: a staff ID; Code Meaning: the name). */
export const PERSON_CODE_SEQUENCES = new Set([
  'PersonIdentificationCodeSequence', 'VerifyingObserverIdentificationCodeSequence', 'HumanPerformerCodeSequence',
  'HangingProtocolUserIdentificationCodeSequence', 'ContentCreatorIdentificationCodeSequence',
]);
/** Code sequences whose code names a place or a device. */
export const PLACE_CODE_SEQUENCES = new Set([
  'InstitutionCodeSequence', 'ScheduledStationNameCodeSequence', 'PerformedStationNameCodeSequence', 'PatientInsurancePlanCodeSequence',
]);

const ALTERNATIVE_CALENDAR_KEYWORDS = new Set(['PatientBirthDateInAlternativeCalendar', 'PatientDeathDateInAlternativeCalendar']);

const WELL_KNOWN_UID = /^1\.2\.840\.10008\./;
// UIDs that name a class or a syntax, not this patient's instance.
const NOT_INSTANCE_UID = /ClassUID$|TransferSyntaxUID$|^CodingSchemeUID$|^ImplementationClassUID$|^RETIRED_/;

// Placeholders (an earlier anonymizer's, or the gateway's own dummy value) identify no one.
export const PLACEHOLDERS = new Set(['ANONYMIZED', 'ANONYMISED', 'ANONYMOUS', 'ANON', 'UNKNOWN', 'NONE', 'NULL', 'REMOVED', 'N/A']);

// Name particles and titles: parts of a name, but alone they are ordinary words of many languages.
const NAME_PARTICLES = new Set([
  'VAN', 'VON', 'DER', 'DEN', 'DE', 'DA', 'DI', 'DU', 'DEL', 'DELLA', 'DOS', 'DAS', 'LA', 'LE', 'EL', 'AL', 'BIN', 'BEN', 'IBN',
  'TER', 'TEN', 'OP', 'Y', 'E', 'DR', 'PROF', 'MD', 'PHD', 'MR', 'MRS', 'MS', 'MISS', 'SIR', 'JR', 'SR', 'RT', 'RN',
]);

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

class Collector {
  readonly names = new Set<string>();
  readonly nameWords = new Set<string>();
  readonly identifiers = new Set<string>();
  readonly places = new Set<string>();
  readonly birthDates = new Set<string>();
  readonly alternativeCalendarDates = new Set<string>();
  readonly uids = new Set<string>();

  private static useful(v: string): boolean {
    // One CJK character can be a whole surname, but alone it is too common a character to be a needle.
    return v.length >= 2 && !/^\d{1,3}$/.test(v) && !PLACEHOLDERS.has(v.toUpperCase());
  }

  private addTo(set: Set<string>, v: string): void {
    const value = v.trim();
    if (Collector.useful(value)) set.add(value);
  }

  /** A person's name as PN writes it: values, component groups, components; multi-word components also by word. */
  addPersonName(text: string): void {
    for (const value of text.split('\\')) {
      for (const group of value.split('=')) {
        // Family, given, middle; prefix and suffix (Dr., Jr.) identify no one.
        const components = group.split('^').slice(0, 3).map((c) => c.trim()).filter(Boolean);
        components.forEach((c) => this.addNameText(c));
        if (components.length >= 2) {
          const [family, given] = components as [string, string];
          // Written together ("山田花子", "DOE JANE"), in either order.
          const cjk = CJK.test(family) || CJK.test(given);
          this.addTo(this.names, cjk ? `${family}${given}` : `${family} ${given}`);
          this.addTo(this.names, cjk ? `${given}${family}` : `${given} ${family}`);
          if (cjk) this.addTo(this.names, `${family} ${given}`);
        }
      }
    }
  }

  /** A name written as free text (a Code Meaning "Dr. Anna Sørensen"): the whole and each word of it. */
  addNameText(text: string): void {
    const whole = text.trim();
    this.addTo(this.names, whole);
    const words = whole.split(/[\s,.;:()/]+|(?<=\p{L})-(?=\p{L})/u).filter(Boolean);
    if (words.length < 2) return;
    for (const w of words) if (!NAME_PARTICLES.has(w.toUpperCase())) this.addTo(this.nameWords, w);
  }

  addIdentifier(text: string): void {
    for (const v of text.split('\\')) this.addTo(this.identifiers, v);
  }

  addPlace(text: string): void {
    for (const v of text.split('\\')) this.addTo(this.places, v);
  }

  addBirthDate(text: string): void {
    for (const v of text.split('\\')) if (/^\d{8}$/.test(v.trim())) this.birthDates.add(v.trim());
  }

  addAlternativeCalendarDate(text: string): void {
    for (const v of text.split('\\')) this.addTo(this.alternativeCalendarDates, v);
  }

  addUid(text: string): void {
    for (const uid of text.split('\\')) if (!WELL_KNOWN_UID.test(uid) && uid.length > 8) this.uids.add(uid.trim());
  }

  values(): IdentifyingValues {
    return {
      names: [...this.names],
      nameWords: [...this.nameWords],
      identifiers: [...this.identifiers],
      places: [...this.places],
      birthDates: [...this.birthDates],
      alternativeCalendarDates: [...this.alternativeCalendarDates],
      uids: [...this.uids],
    };
  }
}

type CodeContext = 'person' | 'place' | undefined;

/** Collects the identifying values of an original instance at every depth (see IdentifyingValues). */
export function collectIdentifyingValues(original: DicomDataset, options: CollectOptions = {}): IdentifyingValues {
  const c = new Collector();
  const walk = (ds: DicomDataset, inherited: string[], code: CodeContext): void => {
    const charset = specificCharacterSetOf(ds, inherited);
    for (const e of ds.values()) {
      const keyword = keywordOf(e.tag) ?? '';
      if (e.items) {
        // A person identification macro's code sequence names the person; items deeper than the code itself do not.
        const inner: CodeContext = PERSON_CODE_SEQUENCES.has(keyword) ? 'person' : PLACE_CODE_SEQUENCES.has(keyword) ? 'place' : undefined;
        e.items.forEach((item) => walk(item, charset, inner));
        continue;
      }
      if (!e.value || !TEXT_VRS.has(e.vr) || options.keepsAttribute?.(e.tag)) continue;
      const isCode = keyword === 'CodeValue' || keyword === 'CodeMeaning' || keyword === 'LongCodeValue' || keyword === 'URNCodeValue';
      // Decided by tag before decoding: most attributes are none of these.
      const wanted = e.vr === 'PN' || IDENTIFIER_KEYWORDS.has(keyword) || PLACE_KEYWORDS.has(keyword) || keyword === 'PatientBirthDate' ||
        ALTERNATIVE_CALENDAR_KEYWORDS.has(keyword) || (e.vr === 'UI' && !NOT_INSTANCE_UID.test(keyword)) || (isCode && code !== undefined);
      if (!wanted) continue;
      const text = trimValue(decodeText(e.value, e.vr, charset), e.vr);
      if (!text) continue;
      if (e.vr === 'PN') c.addPersonName(text);
      else if (isCode && code === 'person') {
        if (keyword === 'CodeMeaning') c.addNameText(text);
        else c.addIdentifier(text);
      } else if (isCode && code === 'place') {
        if (keyword === 'CodeMeaning') c.addPlace(text);
        else c.addIdentifier(text);
      } else if (IDENTIFIER_KEYWORDS.has(keyword)) c.addIdentifier(text);
      else if (PLACE_KEYWORDS.has(keyword)) c.addPlace(text);
      else if (keyword === 'PatientBirthDate') c.addBirthDate(text);
      else if (ALTERNATIVE_CALENDAR_KEYWORDS.has(keyword)) c.addAlternativeCalendarDate(text);
      else if (e.vr === 'UI') c.addUid(text);
    }
  };
  walk(original, [], undefined);
  return c.values();
}
