import fs from 'node:fs';
import { Writable } from 'node:stream';
import { ZipWriter, configure } from '@zip.js/zip.js';
import { csvField } from '../audit';
import type { CrosswalkRow } from '../crosswalk';

// Node has no web workers for zip.js; compression and AES run in this thread, in small slices between awaits.
configure({ useWebWorkers: false });

export const CROSSWALK_CSV_HEADER = [
  'Research ID', 'Patient ID', 'Issuer of Patient ID', 'Patient Name', 'Birth Date', 'Sex',
  'Study Date', 'Accession Number', 'Study Instance UID', 'Research Study Instance UID',
] as const;

const rowFields = (r: CrosswalkRow): string[] => [
  r.researchId, r.patientId, r.issuer, r.name, r.birthDate, r.sex, r.studyDate, r.accessionNumber, r.studyInstanceUid, r.researchStudyUid,
];

/**
 * Writes `chunks` as one CSV entry of a WinZip AES-256 encrypted ZIP, which 7-Zip and WinZip open.
 * The file appears under its name only when complete.
 */
export async function writeEncryptedCsvZip(options: {
  file: string;
  entryName: string;
  password: string;
  chunks: Iterable<CrosswalkRow[]>;
  onRows?: (rowsWritten: number) => void;
}): Promise<{ rows: number; bytes: number }> {
  const partial = `${options.file}.part`;
  const out = fs.createWriteStream(partial, { mode: 0o600 });
  const encoder = new TextEncoder();
  const chunks = options.chunks[Symbol.iterator]();
  let rows = 0;
  let headerSent = false;
  const csv = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!headerSent) {
        headerSent = true;
        // The BOM makes Excel read names with accents as UTF-8.
        controller.enqueue(encoder.encode(`\uFEFF${CROSSWALK_CSV_HEADER.join(',')}\r\n`));
        return;
      }
      const next = chunks.next();
      if (next.done) {
        controller.close();
        return;
      }
      let text = '';
      for (const r of next.value) text += `${rowFields(r).map(csvField).join(',')}\r\n`;
      rows += next.value.length;
      controller.enqueue(encoder.encode(text));
      options.onRows?.(rows);
    },
  });
  try {
    const zip = new ZipWriter(Writable.toWeb(out) as WritableStream<Uint8Array>, {
      password: options.password,
      encryptionStrength: 3, // AES-256
      zipCrypto: false,
      level: 6,
    });
    await zip.add(options.entryName, csv);
    await zip.close();
    await fs.promises.rename(partial, options.file);
    return { rows, bytes: (await fs.promises.stat(options.file)).size };
  } catch (error) {
    out.destroy();
    await fs.promises.rm(partial, { force: true });
    throw error;
  }
}
