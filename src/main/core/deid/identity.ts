import {
  type DicomDataset,
  type ParsedInstance,
  specificCharacterSetOf,
  stringValue,
  tagOf,
} from '../dicom';

/** Thrown when an instance lacks an attribute the gateway cannot work without. */
export class MissingAttributeError extends Error {
  constructor(readonly keyword: string) {
    super(`The instance has no ${keyword}; it cannot be de-identified or traced`);
    this.name = 'MissingAttributeError';
  }
}

/** What the crosswalk records about an instance before it is de-identified (PHI: stays local). */
export interface InstanceIdentity {
  patientId: string;
  issuerOfPatientId: string;
  patientName: string;
  birthDate: string;
  sex: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  studyDate: string;
  accessionNumber: string;
  studyId: string;
  modality: string;
}

export function readIdentity(instance: ParsedInstance): InstanceIdentity {
  const ds: DicomDataset = instance.dataset;
  const charset = specificCharacterSetOf(ds);
  const text = (keyword: string): string => stringValue(ds, tagOf(keyword), charset) ?? '';
  const required = (keyword: string): string => {
    const v = text(keyword);
    if (!v) throw new MissingAttributeError(keyword);
    return v;
  };
  return {
    patientId: text('PatientID'),
    issuerOfPatientId: text('IssuerOfPatientID'),
    patientName: text('PatientName'),
    birthDate: text('PatientBirthDate'),
    sex: text('PatientSex'),
    studyInstanceUid: required('StudyInstanceUID'),
    seriesInstanceUid: required('SeriesInstanceUID'),
    sopInstanceUid: required('SOPInstanceUID'),
    sopClassUid: required('SOPClassUID'),
    studyDate: text('StudyDate'),
    accessionNumber: text('AccessionNumber'),
    studyId: text('StudyID'),
    modality: text('Modality'),
  };
}
