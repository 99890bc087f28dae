import fs from 'node:fs';
import { once } from 'node:events';
import { PassThrough, Readable, Writable } from 'node:stream';
import { ZipWriter, configure } from '@zip.js/zip.js';
import ExcelJS from 'exceljs';
import type { CrosswalkRow } from '../crosswalk';

// Node has no web workers for zip.js; compression and AES run in this thread, in small slices between awaits.
configure({ useWebWorkers: false });

/** The CSV for machines: its columns and their order are a stable interface for scripts (new columns go in the spreadsheet). */
export const CROSSWALK_CSV_HEADER = [
  'Research ID', 'Patient ID', 'Issuer of Patient ID', 'Patient Name', 'Birth Date', 'Sex',
  'Study Date', 'Accession Number', 'Study Instance UID', 'Research Study Instance UID',
] as const;

/** The CSV's field separator: `,` (RFC 4180), or `;` for spreadsheets set up where the comma is the decimal sign. */
export type CsvDelimiter = ',' | ';';

/** The spreadsheet for people: typed columns (IDs as text, dates as dates shown ISO, names split), one row per study. */
export const CROSSWALK_XLSX_COLUMNS = [
  'Research ID', 'Patient ID', 'Issuer of Patient ID', 'Family Name', 'Given Name', 'Middle Name', 'Patient Name (DICOM)',
  'Birth Date', 'Sex', 'Study Date', 'Accession Number', 'Instances Received', 'Instances Delivered', 'Delivered to Research',
  'Study Instance UID', 'Research Study Instance UID',
] as const;

const csvRowFields = (r: CrosswalkRow): string[] => [
  r.researchId, r.patientId, r.issuer, r.name, r.birthDate, r.sex, r.studyDate, r.accessionNumber, r.studyInstanceUid, r.researchStudyUid,
];

/**
 * One CSV field: a value starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so a spreadsheet never runs it
 * as a formula; a value holding the delimiter, a quote or a line break is quoted (RFC 4180).
 */
export function csvCell(value: string, delimiter: CsvDelimiter): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  const needsQuotes = safe.includes(delimiter) || /["\r\n]/.test(safe);
  return needsQuotes ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A DICOM person name's first (alphabetic) group split into its components: FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX. */
export function personNameParts(pn: string): { family: string; given: string; middle: string } {
  const [family = '', given = '', middle = ''] = pn.split('=')[0]!.split('^').map((part) => part.trim());
  return { family, given, middle };
}

/** A whole, real DICOM date (YYYYMMDD) as a UTC midnight, for a date cell; anything else stays text. */
function dicomDateValue(da: string): Date | string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da);
  if (!m) return da;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.getUTCMonth() === Number(m[2]) - 1 && date.getUTCDate() === Number(m[3]) ? date : da;
}

/** "yes" when every instance the gateway received for the study is at the research server, "partly", or "no". */
export function deliveredToResearch(r: Pick<CrosswalkRow, 'instances' | 'delivered' | 'studyInstanceUid'>): string {
  if (!r.studyInstanceUid) return 'no study';
  if (r.delivered > 0 && r.delivered >= r.instances) return 'yes';
  return r.delivered > 0 ? 'partly' : 'no';
}

const TEXT = '@';
const ISO_DATE = 'yyyy-mm-dd';
// Column layout: width in characters, and the number format (text for every ID, so 0004711 keeps its zeros when edited).
const LAYOUT: Record<(typeof CROSSWALK_XLSX_COLUMNS)[number], { width: number; numFmt?: string }> = {
  'Research ID': { width: 16, numFmt: TEXT }, 'Patient ID': { width: 16, numFmt: TEXT }, 'Issuer of Patient ID': { width: 14, numFmt: TEXT },
  'Family Name': { width: 20, numFmt: TEXT }, 'Given Name': { width: 16, numFmt: TEXT }, 'Middle Name': { width: 12, numFmt: TEXT },
  'Patient Name (DICOM)': { width: 28, numFmt: TEXT }, 'Birth Date': { width: 12, numFmt: ISO_DATE }, Sex: { width: 5, numFmt: TEXT },
  'Study Date': { width: 12, numFmt: ISO_DATE }, 'Accession Number': { width: 18, numFmt: TEXT }, 'Instances Received': { width: 10 },
  'Instances Delivered': { width: 10 }, 'Delivered to Research': { width: 12, numFmt: TEXT },
  'Study Instance UID': { width: 40, numFmt: TEXT }, 'Research Study Instance UID': { width: 40, numFmt: TEXT },
};

const xlsxRowValues = (r: CrosswalkRow): Array<string | number | Date | null> => {
  const name = personNameParts(r.name);
  const hasStudy = Boolean(r.studyInstanceUid);
  return [
    r.researchId, r.patientId, r.issuer, name.family, name.given, name.middle, r.name,
    r.birthDate ? dicomDateValue(r.birthDate) : null, r.sex, r.studyDate ? dicomDateValue(r.studyDate) : null, r.accessionNumber,
    hasStudy ? r.instances : null, hasStudy ? r.delivered : null, deliveredToResearch(r), r.studyInstanceUid, r.researchStudyUid,
  ];
};

/** The CSV entry as a stream: BOM, header, one line per row, CRLF. */
function csvStream(chunks: Iterator<CrosswalkRow[]>, delimiter: CsvDelimiter, onRows: (rows: number) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let rows = 0;
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!headerSent) {
        headerSent = true;
        // The BOM makes Excel read names with accents as UTF-8.
        controller.enqueue(encoder.encode(`\uFEFF${CROSSWALK_CSV_HEADER.join(delimiter)}\r\n`));
        return;
      }
      const next = chunks.next();
      if (next.done) {
        controller.close();
        return;
      }
      let text = '';
      for (const r of next.value) text += `${csvRowFields(r).map((v) => csvCell(v, delimiter)).join(delimiter)}\r\n`;
      rows += next.value.length;
      controller.enqueue(encoder.encode(text));
      onRows(rows);
    },
  });
}

/**
 * The spreadsheet entry as a stream, written by exceljs's streaming WorkbookWriter: each chunk's rows are committed
 * (written out and forgotten) and the writer waits while the ZIP behind it is busy, so memory stays flat for any size.
 */
function xlsxStream(chunks: Iterator<CrosswalkRow[]>, onRows: (rows: number) => void): { stream: ReadableStream<Uint8Array>; done: Promise<void> } {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const done = (async () => {
    // Shared strings would keep every distinct text in memory until the end; inline strings stream.
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    const sheet = workbook.addWorksheet('Crosswalk', { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = CROSSWALK_XLSX_COLUMNS.map((header) => ({
      header, key: header, width: LAYOUT[header].width, style: LAYOUT[header].numFmt ? { numFmt: LAYOUT[header].numFmt } : {},
    }));
    sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: CROSSWALK_XLSX_COLUMNS.length } };
    const header = sheet.getRow(1);
    header.font = { bold: true };
    header.commit();
    let rows = 0;
    for (let next = chunks.next(); !next.done; next = chunks.next()) {
      for (const r of next.value) sheet.addRow(xlsxRowValues(r)).commit();
      rows += next.value.length;
      onRows(rows);
      // Let the ZIP take what was written before producing more.
      if (out.writableNeedDrain) await once(out, 'drain');
      else await new Promise((resolve) => setImmediate(resolve));
    }
    sheet.commit();
    await workbook.commit();
  })();
  done.catch((error: Error) => out.destroy(error));
  return { stream: Readable.toWeb(out) as ReadableStream<Uint8Array>, done };
}

export type CrosswalkFileFormat = { kind: 'xlsx' } | { kind: 'csv'; delimiter: CsvDelimiter };

/**
 * Writes `chunks` as one entry (a spreadsheet or a CSV) of a WinZip AES-256 encrypted ZIP, which 7-Zip and WinZip
 * open. The file appears under its name only when complete.
 */
export async function writeEncryptedCrosswalkZip(options: {
  file: string;
  entryName: string;
  password: string;
  format: CrosswalkFileFormat;
  chunks: Iterable<CrosswalkRow[]>;
  onRows?: (rowsWritten: number) => void;
}): Promise<{ rows: number; bytes: number }> {
  const partial = `${options.file}.part`;
  const out = fs.createWriteStream(partial, { mode: 0o600 });
  const chunks = options.chunks[Symbol.iterator]();
  let rows = 0;
  const onRows = (n: number): void => {
    rows = n;
    options.onRows?.(n);
  };
  const entry = options.format.kind === 'xlsx' ? xlsxStream(chunks, onRows) : { stream: csvStream(chunks, options.format.delimiter, onRows), done: Promise.resolve() };
  try {
    const zip = new ZipWriter(Writable.toWeb(out) as WritableStream<Uint8Array>, {
      password: options.password,
      encryptionStrength: 3, // AES-256
      zipCrypto: false,
      // An .xlsx is itself a deflated ZIP: compressing it again costs time and saves nothing.
      level: options.format.kind === 'xlsx' ? 0 : 6,
    });
    await zip.add(options.entryName, entry.stream);
    await entry.done;
    await zip.close();
    await fs.promises.rename(partial, options.file);
    return { rows, bytes: (await fs.promises.stat(options.file)).size };
  } catch (error) {
    out.destroy();
    await fs.promises.rm(partial, { force: true });
    throw error;
  }
}
