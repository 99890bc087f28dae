import { decodeText, specificCharacterSetOf, tagOf, trimValue, type DicomDataset } from '../dicom';
import type { IdentifyingValues } from './classify';

const keywords = (...names: string[]): Set<number> => new Set(names.map(tagOf));

/** Attributes whose values identify a patient, a person or a device when written into the pixels. */
const ID_TAGS = keywords(
  'PatientID', 'IssuerOfPatientID', 'OtherPatientIDs', 'AccessionNumber', 'StudyID', 'RequestedProcedureID',
  'ScheduledProcedureStepID', 'PerformedProcedureStepID', 'FillerOrderNumberImagingServiceRequest',
  'PlacerOrderNumberImagingServiceRequest', 'MedicalRecordLocator', 'DeviceSerialNumber', 'StationName',
  'PatientTelephoneNumbers', 'MilitaryRank',
);
const DATE_TAGS = keywords('PatientBirthDate');
const INSTITUTION_TAGS = keywords('InstitutionName', 'InstitutionalDepartmentName', 'InstitutionAddress', 'PatientAddress');
/** Code values and meanings of person identification codes are staff IDs and names. */
const PERSON_CODE_SEQUENCES = keywords('PersonIdentificationCodeSequence');
const CODE_VALUE = tagOf('CodeValue');
const CODE_MEANING = tagOf('CodeMeaning');

/**
 * The values of an original instance (before de-identification) that must not be readable in its pixels: every
 * person name at any depth, the patient's and staff IDs, the birth date, the institution.
 */
export function identifyingValuesOf(dataset: DicomDataset): IdentifyingValues {
  const values: IdentifyingValues = { names: [], ids: [], dates: [], institutions: [] };
  const walk = (ds: DicomDataset, inherited: string[], inPersonCode: boolean): void => {
    const charset = specificCharacterSetOf(ds, inherited);
    for (const element of ds.values()) {
      if (element.items) {
        for (const item of element.items) walk(item, charset, PERSON_CODE_SEQUENCES.has(element.tag));
        continue;
      }
      if (!element.value) continue;
      const text = trimValue(decodeText(element.value, element.vr, charset), element.vr);
      if (!text) continue;
      for (const value of text.split('\\').map((v) => v.trim()).filter(Boolean)) {
        if (element.vr === 'PN') values.names.push(value);
        else if (inPersonCode && element.tag === CODE_MEANING) values.names.push(value);
        else if (ID_TAGS.has(element.tag) || (inPersonCode && element.tag === CODE_VALUE)) values.ids.push(value);
        else if (DATE_TAGS.has(element.tag)) values.dates.push(value);
        else if (INSTITUTION_TAGS.has(element.tag)) values.institutions.push(value);
      }
    }
  };
  walk(dataset, [], false);
  return values;
}
