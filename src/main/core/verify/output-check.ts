import type { DeidSettings } from '../../../shared/settings';
import { applyBirthDateRule } from '../../../shared/dates';
import { type DicomDataset, parseInstanceFile, stringValue, tagOf } from '../dicom';
import { deidPolicy, describeMethod, enabledOptions, methodCodes, resolveAction } from '../deid';
import { findResidualPhi, identifyingValuesOf, type OwnValues, type RetainedByPolicy, type ResidualFinding } from './residual-phi';

/** What these settings keep on purpose from this original (Retain … options, a birth date its rule leaves as it was). */
export function retainedByPolicy(original: DicomDataset, deid: DeidSettings): RetainedByPolicy {
  const options = enabledOptions(deid);
  const birthDate = stringValue(original, tagOf('PatientBirthDate')) ?? '';
  return {
    keepsAttribute: (tag) => resolveAction(tag, options) === 'keep',
    birthDateUnchanged: birthDate !== '' && applyBirthDateRule(birthDate, deid.birthDate) === birthDate.trim(),
  };
}

/** What the gateway itself wrote into this instance: the crosswalk's values and the site code. */
export interface WrittenByGateway {
  researchId: string;
  researchAccessionNumber?: string;
  researchStudyId?: string;
  siteCode?: string;
}

// The profile's dummy values and the coded answers the gateway writes (PatientIdentityRemoved, method codes).
const DUMMIES = ['ANONYMIZED', '19000101', '19000101000000', '000000', '000Y', 'YES', 'MODIFIED', 'DCM', 'LABEL'];

/**
 * Values in the output that are the gateway's own or the maker's (kept by the profile): the residual check
 * leaves them out, so a site code equal to the clinic's Issuer of Patient ID, or a research ID that begins with
 * it, never holds an instance. The maker's name counts only as the original wrote it in Manufacturer.
 */
export function ownValues(original: DicomDataset, deid: DeidSettings, written: WrittenByGateway | undefined): OwnValues {
  const values = [...DUMMIES, ...describeMethod(deid), ...methodCodes(enabledOptions(deid)).flat()];
  if (written) {
    values.push(written.researchId, written.researchAccessionNumber ?? '', written.researchStudyId ?? '', written.siteCode ?? '');
    values.push(`policy ${deidPolicy(deid, written.siteCode).shortHash}`);
  }
  for (const keyword of ['Manufacturer', 'ManufacturerModelName']) values.push(stringValue(original, tagOf(keyword)) ?? '');
  return { values: values.filter((v) => v.trim().length >= 2) };
}

/**
 * The residual-identifying-data check on a de-identified file as written (not the dataset in memory): every
 * element at every depth, the bytes outside pixel data and an encapsulated PDF's text, for values of its
 * original. Returns where they were found (attribute paths, never values); empty when the file is clean.
 */
export function checkOutputFile(outputPath: string, original: DicomDataset, deid: DeidSettings, written?: WrittenByGateway): ResidualFinding[] {
  const identifying = identifyingValuesOf(original, retainedByPolicy(original, deid));
  const output = parseInstanceFile(outputPath);
  try {
    return findResidualPhi(output, identifying, ownValues(original, deid, written));
  } finally {
    output.close();
  }
}
