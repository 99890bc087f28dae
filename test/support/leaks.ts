import { parseInstanceBuffer, PIXEL_DATA } from '../../src/main/core/dicom';
import type { Inspection } from './dicom-tools';

/** The bytes of a Part 10 file with its pixel data cut out (pixel values could match by chance). */
export function bytesOutsidePixelData(file: Buffer): Buffer {
  const parsed = parseInstanceBuffer(file);
  try {
    const pixel = parsed.dataset.get(PIXEL_DATA);
    if (!pixel?.bulk) return file;
    // For non-deflated syntaxes the bulk range is a range of the file itself.
    return Buffer.concat([file.subarray(0, pixel.bulk.offset), file.subarray(pixel.bulk.offset + pixel.bulk.length)]);
  } finally {
    parsed.close();
  }
}

export interface Leak {
  value: string;
  where: string;
}

/**
 * Every identifying value that is still found in an output file: in its raw bytes outside pixel data
 * (case-insensitive, Latin-1) or in any text value pydicom reads at any depth, private elements included.
 */
export function findLeaks(file: Buffer, inspection: Inspection, identifying: string[]): Leak[] {
  const raw = bytesOutsidePixelData(file).toString('latin1').toUpperCase();
  const leaks: Leak[] = [];
  for (const value of identifying) {
    const needle = value.toUpperCase();
    if (raw.includes(needle)) leaks.push({ value, where: 'raw bytes' });
    for (const t of inspection.texts) {
      if (t.value.toUpperCase().includes(needle)) leaks.push({ value, where: t.path });
    }
  }
  return leaks;
}

const IDENTIFYING_KEYWORDS =
  /^(PatientName|OtherPatientNames|PatientBirthName|PatientMotherBirthName|ReferringPhysicianName|PerformingPhysicianName|OperatorsName|NameOfPhysiciansReadingStudy|PhysiciansOfRecord|RequestingPhysician|ScheduledPerformingPhysicianName|PersonName|InstitutionName|InstitutionAddress|InstitutionalDepartmentName|PatientID|OtherPatientIDs|AccessionNumber|PatientAddress|PatientTelephoneNumbers|StationName|DeviceSerialNumber)$/;
const WELL_KNOWN_UID = /^1\.2\.840\.10008\./;

/** Identifying values of an input file as pydicom reads it: names, IDs, dates of birth, institutions, instance UIDs. */
export function identifyingValuesOf(input: Inspection): string[] {
  const values = new Set<string>();
  for (const t of input.texts) {
    const keyword = t.path.replace(/^.*\./, '').replace(/\[\d+\]$/, '');
    if (IDENTIFYING_KEYWORDS.test(keyword)) {
      for (const part of t.value.split(/[\^=\\]/)) if (part.trim().length >= 3) values.add(part.trim());
    }
    if (keyword === 'PatientBirthDate' && /^\d{8}$/.test(t.value)) values.add(t.value);
  }
  for (const u of input.uids) if (!WELL_KNOWN_UID.test(u.value) && u.value.length > 10 && !/ClassUID$|TransferSyntaxUID$|CodingSchemeUID$|ImplementationClassUID$/.test(u.path)) values.add(u.value);
  // A value that also names the manufacturer (an institution called "TOSHIBA") is kept there by design.
  // Placeholders an earlier anonymizer wrote are the gateway's own dummy value too.
  for (const v of values) if (/^anonymi[sz]ed$/i.test(v)) values.delete(v);
  const makers = input.texts.filter((t) => /^Manufacturer(ModelName)?$/.test(t.path)).map((t) => t.value.toUpperCase());
  for (const v of values) if (makers.some((m) => m.includes(v.toUpperCase()))) values.delete(v);
  return [...values];
}
