import { type DicomDataset, stringValue, tagOf } from '../dicom';

/**
 * Why an instance may carry burned-in text (names, dates written into the pixels), which the profile
 * cannot remove from the header: undefined when it is not suspected.
 */
export function burnedInTextRisk(ds: DicomDataset, modalities: readonly string[]): string | undefined {
  const burnedIn = stringValue(ds, tagOf('BurnedInAnnotation'))?.toUpperCase();
  const modality = stringValue(ds, tagOf('Modality'))?.toUpperCase() ?? '';
  if (burnedIn === 'YES') {
    return 'Burned-in text: the image says it has text written into its pixels (Burned In Annotation YES); check it before releasing it';
  }
  if (burnedIn === undefined && modalities.includes(modality)) {
    return `Burned-in text possible: modality ${modality} often has text in its pixels and the image does not say it has none (Burned In Annotation absent); check it before releasing it`;
  }
  return undefined;
}
