import type { DicomDataset } from '../dicom';
import { collectIdentifyingValues } from '../deid/identifying-values';
import type { IdentifyingValues } from './classify';

/**
 * The values of an original instance (before de-identification) that must not be readable in its pixels: the same
 * needles the descriptor cleaner and the residual check use (every person name at any depth, patient, staff and
 * device IDs, the birth date, institution and addresses), in the form the OCR matcher takes.
 */
export function identifyingValuesOf(dataset: DicomDataset): IdentifyingValues {
  const values = collectIdentifyingValues(dataset);
  return { names: values.names, ids: values.identifiers, dates: values.birthDates, institutions: values.places };
}
