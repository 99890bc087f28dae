import type { DeidSettings } from '../../../shared/settings';
import { applyBirthDateRule } from '../../../shared/dates';
import { type DicomDataset, parseInstanceFile, stringValue, tagOf } from '../dicom';
import { enabledOptions, resolveAction } from '../deid';
import { findResidualPhi, identifyingValuesOf, type RetainedByPolicy, type ResidualFinding } from './residual-phi';

/** What these settings keep on purpose from this original (Retain … options, a birth date its rule leaves as it was). */
export function retainedByPolicy(original: DicomDataset, deid: DeidSettings): RetainedByPolicy {
  const options = enabledOptions(deid);
  const birthDate = stringValue(original, tagOf('PatientBirthDate')) ?? '';
  return {
    keepsAttribute: (tag) => resolveAction(tag, options) === 'keep',
    birthDateUnchanged: birthDate !== '' && applyBirthDateRule(birthDate, deid.birthDate) === birthDate.trim(),
  };
}

/**
 * The residual-identifying-data check on a de-identified file as written (not the dataset in memory): every
 * element at every depth and the bytes outside pixel data, for values of its original. Returns where they were
 * found (attribute paths, never values); empty when the file is clean.
 */
export function checkOutputFile(outputPath: string, original: DicomDataset, deid: DeidSettings): ResidualFinding[] {
  const identifying = identifyingValuesOf(original, retainedByPolicy(original, deid));
  const output = parseInstanceFile(outputPath);
  try {
    return findResidualPhi(output, identifying);
  } finally {
    output.close();
  }
}
