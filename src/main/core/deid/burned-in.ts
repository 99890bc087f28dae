import { type DicomDataset, stringValue, tagOf } from '../dicom';

// PS3.4 B.5: Encapsulated PDF, CDA, STL, OBJ and MTL Storage, and any later class of the same family.
const ENCAPSULATED_SOP_CLASS_PREFIX = '1.2.840.10008.5.1.4.1.1.104.';

export interface BurnedInOptions {
  /** The site accepts encapsulated documents without review (deid.allowEncapsulatedDocuments). */
  allowEncapsulatedDocuments?: boolean;
  /** Images that say Burned In Annotation YES are screened and redacted instead (screening.burnedInAnnotationYes release). */
  screenedWhenYes?: boolean;
}

/**
 * Why an instance may carry identifying text the profile cannot remove from the header (names and dates written
 * into the pixels, or a whole document), so it is held for review: undefined when nothing is suspected.
 */
export function burnedInTextRisk(ds: DicomDataset, modalities: readonly string[], options: BurnedInOptions = {}): string | undefined {
  const sopClass = stringValue(ds, tagOf('SOPClassUID')) ?? '';
  // A document is text by nature, whatever its modality and Burned In Annotation say, and it can be compressed
  // where no search of its bytes would see a name: held by what it is.
  if (!options.allowEncapsulatedDocuments && (sopClass.startsWith(ENCAPSULATED_SOP_CLASS_PREFIX) || ds.has(tagOf('EncapsulatedDocument')))) {
    return 'Encapsulated document: a report or model (PDF, CDA, STL, OBJ or MTL) can name the patient anywhere in its content; check it before releasing it';
  }
  const burnedIn = stringValue(ds, tagOf('BurnedInAnnotation'))?.toUpperCase();
  const modality = stringValue(ds, tagOf('Modality'))?.toUpperCase() ?? '';
  if (burnedIn === 'YES' && !options.screenedWhenYes) {
    return 'Burned-in text: the image says it has text written into its pixels (Burned In Annotation YES); check it before releasing it';
  }
  if (burnedIn === undefined && modalities.includes(modality)) {
    return `Burned-in text possible: modality ${modality} often has text in its pixels and the image does not say it has none (Burned In Annotation absent); check it before releasing it`;
  }
  return undefined;
}
