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
  // The gateway's new UIDs are random digits, so a short number of the input (a device serial "1871") turns up
  // in one by chance now and then: numbers are looked for with the output's UIDs blanked out. A UID of the
  // input has dots in it, so a kept original UID is still found.
  const outputUids = new Set(inspection.uids.map((u) => u.value));
  const withoutUids = outputUids.size ? raw.replace(new RegExp([...outputUids].map((u) => u.replace(/\./g, '\\.')).join('|'), 'g'), ' ') : raw;
  const leaks: Leak[] = [];
  for (const value of identifying) {
    const needle = value.toUpperCase();
    const number = /^\d+$/.test(value);
    if ((number ? withoutUids : raw).includes(needle)) leaks.push({ value, where: 'raw bytes' });
    for (const t of inspection.texts) {
      if (number && outputUids.has(t.value)) continue;
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
