import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { openDatabase, type GatewayDatabase } from '../../src/main/core/store';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { AuditLog } from '../../src/main/core/audit';
import { createLogger } from '../../src/main/core/log';
import { CROSSWALK_CSV_HEADER, DoctorService, type ExportProgress } from '../../src/main/core/doctor';
import type { InstanceIdentity } from '../../src/main/core/deid';
import { extractBytesWith7z, extractWith7z, methodsOf } from '../support/seven-zip';

const DOCTOR_PASSWORD = 'Radiology-Desk-2026!';
const EXPORT_PASSWORD = 'Export Kestrel 84 Lantern';

// Three patients: one with both studies delivered (and a leading-zero ID), one with one of two instances delivered,
// one whose only instance is held (nothing reached research).
const PEOPLE = [
  { patientId: '0004711', name: 'MÜLLER^JÖRDIS^ANNA', birthDate: '19430417', studies: [{ date: '20240201', states: ['uploaded', 'uploaded'] }, { date: '20250310', states: ['uploaded'] }] },
  { patientId: '=1+2', name: 'DOE^JANE', birthDate: '196507', studies: [{ date: '20240315', states: ['uploaded', 'failed'] }] },
  { patientId: '0000001', name: 'HELD^ONLY', birthDate: '19700101', studies: [{ date: '20240401', states: ['held'] }] },
];

const identity = (patient: number, study: number): InstanceIdentity => ({
  patientId: PEOPLE[patient]!.patientId, issuerOfPatientId: 'KGH', patientName: PEOPLE[patient]!.name, birthDate: PEOPLE[patient]!.birthDate, sex: 'F',
  studyInstanceUid: `1.2.826.0.1.777.${patient}.${study}`, seriesInstanceUid: `1.2.826.0.1.777.${patient}.${study}.1`,
  sopInstanceUid: `1.2.826.0.1.777.${patient}.${study}.1.1`, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2',
  studyDate: PEOPLE[patient]!.studies[study]!.date, accessionNumber: `0${patient}${study}`, studyId: '1', modality: 'MG',
});

describe('the crosswalk export for people: a typed spreadsheet in the AES-256 ZIP, and the CSV for machines', () => {
  let db: GatewayDatabase;
  let doctor: DoctorService;
  let token: string;
  const researchIds: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlsx-export-'));

  beforeAll(async () => {
    db = openDatabase(path.join(dir, 'gateway.db'), crypto.randomBytes(32).toString('hex'));
    const crosswalk = new Crosswalk(db, 'KGH');
    const instance = db.prepare(`INSERT INTO instances (sop_instance_uid, study_ref, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at)
      VALUES (?, ?, ?, '/nowhere', 'MAMMO', 1, 'now', 'now')`);
    PEOPLE.forEach((person, p) => {
      const patient = crosswalk.linkPatient(identity(p, 0));
      researchIds.push(patient.researchId);
      person.studies.forEach((study, s) => {
        const link = crosswalk.linkStudy(patient, identity(p, s));
        study.states.forEach((state, i) => instance.run(`1.2.826.0.1.777.${p}.${s}.1.${i + 1}`, link.studyRef, state));
      });
    });
    doctor = new DoctorService({ db, audit: new AuditLog(db), logger: createLogger({ sink: () => {} }), siteCode: 'KGH', sessionMinutes: () => 10 });
    await doctor.setPassword(DOCTOR_PASSWORD, DOCTOR_PASSWORD);
    token = (await doctor.unlock(DOCTOR_PASSWORD)).token;
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const readSheet = async (zip: string): Promise<{ name: string; sheet: ExcelJS.Worksheet }> => {
    const opened = await extractBytesWith7z(zip, EXPORT_PASSWORD);
    expect(opened.code).toBe(0);
    const [name, bytes] = [...opened.files][0]!;
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as never);
    return { name: name!, sheet: workbook.getWorksheet('Crosswalk')! };
  };
  const header = (sheet: ExcelJS.Worksheet): string[] => (sheet.getRow(1).values as unknown[]).slice(1).map(String);
  const cellOf = (sheet: ExcelJS.Worksheet, row: number, column: string): ExcelJS.Cell => sheet.getRow(row).getCell(header(sheet).indexOf(column) + 1);

  it('writes IDs as text (0004711 keeps its zeros), dates as date cells shown ISO, names split beside the DICOM form, instance counts and delivery', async () => {
    const file = path.join(dir, 'people.zip');
    const progress: ExportProgress[] = [];
    const result = await doctor.export(token, {
      file, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'all' }, format: { kind: 'xlsx' }, onProgress: (p) => progress.push(p),
    });
    expect(result).toMatchObject({ patients: 3, rows: 4 });
    expect(progress.at(-1)).toEqual({ rowsWritten: 4, rowsTotal: 4 });
    expect(await methodsOf(file)).toEqual(['AES-256 Store']);
    expect((await extractBytesWith7z(file, 'Not The Password 1')).code).not.toBe(0);

    const { name, sheet } = await readSheet(file);
    expect(name).toMatch(/^crosswalk-KGH-\d{4}-\d{2}-\d{2}\.xlsx$/);
    expect(header(sheet)).toEqual([
      'Research ID', 'Patient ID', 'Issuer of Patient ID', 'Family Name', 'Given Name', 'Middle Name', 'Patient Name (DICOM)',
      'Birth Date', 'Sex', 'Study Date', 'Accession Number', 'Instances Received', 'Instances Delivered', 'Delivered to Research',
      'Study Instance UID', 'Research Study Instance UID',
    ]);
    expect(sheet.rowCount).toBe(5);

    const id = cellOf(sheet, 2, 'Patient ID');
    expect(id.type).toBe(ExcelJS.ValueType.String);
    expect(id.value).toBe('0004711');
    expect(id.numFmt).toBe('@');
    expect(cellOf(sheet, 2, 'Accession Number').value).toBe('000');
    expect(cellOf(sheet, 2, 'Research ID').value).toBe(researchIds[0]);
    expect([cellOf(sheet, 2, 'Family Name').value, cellOf(sheet, 2, 'Given Name').value, cellOf(sheet, 2, 'Middle Name').value]).toEqual(['MÜLLER', 'JÖRDIS', 'ANNA']);
    expect(cellOf(sheet, 2, 'Patient Name (DICOM)').value).toBe('MÜLLER^JÖRDIS^ANNA');

    const birth = cellOf(sheet, 2, 'Birth Date');
    expect(birth.type).toBe(ExcelJS.ValueType.Date);
    expect((birth.value as Date).toISOString()).toBe('1943-04-17T00:00:00.000Z');
    expect(birth.numFmt).toBe('yyyy-mm-dd');
    expect((cellOf(sheet, 3, 'Study Date').value as Date).toISOString()).toBe('2025-03-10T00:00:00.000Z');
    // A partial date (year and month only) is kept as written, as text: it is not a day.
    expect(cellOf(sheet, 4, 'Birth Date').value).toBe('196507');

    expect([2, 3, 4, 5].map((r) => [cellOf(sheet, r, 'Instances Received').value, cellOf(sheet, r, 'Instances Delivered').value, cellOf(sheet, r, 'Delivered to Research').value]))
      .toEqual([[2, 2, 'yes'], [1, 1, 'yes'], [2, 1, 'partly'], [1, 0, 'no']]);
    expect(cellOf(sheet, 2, 'Instances Received').type).toBe(ExcelJS.ValueType.Number);
    // A value that looks like a formula is a text cell, never a formula.
    const formulaLike = cellOf(sheet, 4, 'Patient ID');
    expect(formulaLike.type).toBe(ExcelJS.ValueType.String);
    expect(formulaLike.value).toBe('=1+2');
  });

  it('leaves out patients none of whose instances reached research, when asked (the screen\'s default)', async () => {
    const file = path.join(dir, 'delivered.zip');
    const result = await doctor.export(token, { file, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'all' }, format: { kind: 'xlsx' }, deliveredOnly: true });
    expect(result).toMatchObject({ patients: 2, rows: 3 });
    const { sheet } = await readSheet(file);
    const ids = [2, 3, 4].map((r) => cellOf(sheet, r, 'Research ID').value);
    expect(ids).toEqual([researchIds[0], researchIds[0], researchIds[1]]);
    expect(sheet.rowCount).toBe(4);
  });

  it('keeps the CSV for machines, comma- or semicolon-separated, with the same columns as before', async () => {
    const file = path.join(dir, 'machines.zip');
    await doctor.export(token, { file, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'researchIds', researchIds: [researchIds[1]!] }, format: { kind: 'csv', delimiter: ';' } });
    const [name, text] = [...(await extractWith7z(file, EXPORT_PASSWORD)).files][0]!;
    expect(name).toMatch(/\.csv$/);
    const lines = text!.replace(/^\uFEFF/, '').split('\r\n');
    expect(lines[0]).toBe(CROSSWALK_CSV_HEADER.join(';'));
    expect(lines[0]).toBe('Research ID;Patient ID;Issuer of Patient ID;Patient Name;Birth Date;Sex;Study Date;Accession Number;Study Instance UID;Research Study Instance UID');
    expect(lines[1]).toBe(`${researchIds[1]};'=1+2;KGH;DOE^JANE;196507;F;20240315;010;1.2.826.0.1.777.1.0;${lines[1]!.split(';').at(-1)}`);
    expect(lines).toHaveLength(3);
  });
});
