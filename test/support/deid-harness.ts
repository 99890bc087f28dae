import {
  type DicomDataset,
  type DicomElement,
  encodeInstance,
  parseInstanceBuffer,
  stringValue,
  tagOf,
  textElement,
} from '../../src/main/core/dicom';
import { BufferSource } from '../../src/main/core/dicom/source';
import { describeTransferSyntax } from '../../src/main/core/dicom/transfer-syntax';
import { deidentifyDataset, type DeidContext, type InstanceIdentity } from '../../src/main/core/deid';
import { DeidSettings } from '../../src/shared/settings';

export const EXPLICIT_LE = describeTransferSyntax('1.2.840.10008.1.2.1')!;

/** A fresh UID map like the crosswalk's: stable per original, recorded so tests can check references. */
export function uidMapper(): { map: Map<string, string>; mapUid(original: string): string } {
  const map = new Map<string, string>();
  return {
    map,
    mapUid(original: string): string {
      let replacement = map.get(original);
      if (!replacement) {
        replacement = `2.25.${1000 + map.size}`;
        map.set(original, replacement);
      }
      return replacement;
    },
  };
}

export function contextFor(settings: Partial<DeidSettings> = {}, extra: Partial<DeidContext> = {}): DeidContext {
  const uids = uidMapper();
  return {
    settings: DeidSettings.parse(settings),
    researchId: 'SITE-TEST0001',
    researchAccessionNumber: 'ACC0RESEARCH',
    researchStudyId: 'STUDY0RSRCH',
    mapUid: uids.mapUid,
    dateShiftDays: 10,
    ...extra,
  };
}

export const identityOf = (ds: DicomDataset): InstanceIdentity => ({
  patientId: stringValue(ds, tagOf('PatientID')) ?? '',
  issuerOfPatientId: '',
  patientName: stringValue(ds, tagOf('PatientName')) ?? '',
  birthDate: stringValue(ds, tagOf('PatientBirthDate')) ?? '',
  sex: '',
  studyInstanceUid: stringValue(ds, tagOf('StudyInstanceUID')) ?? '',
  seriesInstanceUid: stringValue(ds, tagOf('SeriesInstanceUID')) ?? '',
  sopInstanceUid: stringValue(ds, tagOf('SOPInstanceUID')) ?? '',
  sopClassUid: stringValue(ds, tagOf('SOPClassUID')) ?? '',
  studyDate: stringValue(ds, tagOf('StudyDate')) ?? '',
  accessionNumber: '',
  studyId: '',
  modality: stringValue(ds, tagOf('Modality')) ?? '',
});

/** The attributes every test instance carries, so the engine has its UIDs. */
export function baseDataset(extra: DicomElement[] = []): DicomDataset {
  const ds: DicomDataset = new Map();
  const put = (e: DicomElement): void => void ds.set(e.tag, e);
  put(textElement(tagOf('SOPClassUID'), 'UI', '1.2.840.10008.5.1.4.1.1.1.2'));
  put(textElement(tagOf('SOPInstanceUID'), 'UI', '1.2.826.0.1.3680043.10.1.1'));
  put(textElement(tagOf('StudyInstanceUID'), 'UI', '1.2.826.0.1.3680043.10.1.2'));
  put(textElement(tagOf('SeriesInstanceUID'), 'UI', '1.2.826.0.1.3680043.10.1.3'));
  put(textElement(tagOf('Modality'), 'CS', 'MG'));
  for (const e of extra) put(e);
  return ds;
}

/** De-identifies in memory, encodes a Part 10 file, and reads it back with the project's reader. */
export function deidentifyRoundTrip(ds: DicomDataset, ctx: DeidContext): { file: Buffer; dataset: DicomDataset } {
  const result = deidentifyDataset(ds, identityOf(ds), ctx);
  const pieces = encodeInstance({
    dataset: result.dataset,
    syntax: EXPLICIT_LE,
    source: new BufferSource(Buffer.alloc(0)),
    sopClassUid: result.sopClassUid,
    sopInstanceUid: result.sopInstanceUid,
  });
  const file = Buffer.concat(pieces.map((p) => (Buffer.isBuffer(p) ? p : Buffer.alloc(0))));
  const parsed = parseInstanceBuffer(file);
  parsed.close();
  return { file, dataset: parsed.dataset };
}
