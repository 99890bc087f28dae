import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type GatewayDatabase } from '../../src/main/core/store';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { AuditLog } from '../../src/main/core/audit';
import { createLogger } from '../../src/main/core/log';
import {
  CROSSWALK_CSV_HEADER, CrosswalkLocked, DoctorPasswordAlreadySet, DoctorPasswordNotSet, DoctorService, FREE_ATTEMPTS,
  PasswordsDoNotMatch, UnlockThrottled, WeakPassword, WrongPassword, type ExportProgress,
} from '../../src/main/core/doctor';
import type { InstanceIdentity } from '../../src/main/core/deid';
import { extractWith7z, methodsOf, parseCsv } from '../support/seven-zip';

const DOCTOR_PASSWORD = 'Radiology-Desk-2026!';
const EXPORT_PASSWORD = 'Export Kestrel 84 Lantern';

const identity = (n: number, study: number, studyDate: string): InstanceIdentity => ({
  patientId: `MRN-${1000 + n}`,
  issuerOfPatientId: n % 2 ? 'KGH' : '',
  patientName: `TESTPATIENT${n}^ÉLODIE "Q", JR`,
  birthDate: `19${50 + n}0304`,
  sex: n % 3 ? 'F' : 'O',
  studyInstanceUid: `1.2.826.0.1.999.${n}.${study}`,
  seriesInstanceUid: `1.2.826.0.1.999.${n}.${study}.1`,
  sopInstanceUid: `1.2.826.0.1.999.${n}.${study}.1.1`,
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2',
  studyDate,
  accessionNumber: `ACC${n}${study}`,
  studyId: `${study}`,
  modality: 'MG',
});

describe('the doctor unlocks, looks up and exports the crosswalk; every attempt is audited', () => {
  let db: GatewayDatabase;
  let audit: AuditLog;
  let doctor: DoctorService;
  let clock = Date.parse('2026-03-01T09:00:00Z');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-'));
  const patients: Array<{ researchId: string; n: number; studies: Array<{ uid: string; researchUid: string; date: string }> }> = [];
  const lastAudit = () => audit.list({ limit: 1 })[0]!;

  beforeAll(() => {
    db = openDatabase(path.join(dir, 'gateway.db'), crypto.randomBytes(32).toString('hex'));
    audit = new AuditLog(db);
    doctor = new DoctorService({ db, audit, logger: createLogger({ sink: () => {} }), siteCode: 'KGH', sessionMinutes: () => 10, now: () => clock });
    const crosswalk = new Crosswalk(db, 'KGH');
    for (let n = 1; n <= 5; n++) {
      const dates = n === 5 ? [] : ['20240115', `2025${String(n).padStart(2, '0')}20`];
      const first = identity(n, 0, dates[0] ?? '');
      const patient = crosswalk.linkPatient(first);
      const studies = dates.map((date, i) => {
        const id = identity(n, i, date);
        return { uid: id.studyInstanceUid, researchUid: crosswalk.linkStudy(patient, id).researchStudyUid, date };
      });
      patients.push({ researchId: patient.researchId, n, studies });
    }
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to unlock before a doctor password is set, and audits it', async () => {
    await expect(doctor.unlock(DOCTOR_PASSWORD)).rejects.toBeInstanceOf(DoctorPasswordNotSet);
    expect(lastAudit()).toMatchObject({ actor: 'doctor', action: 'doctor.unlock', outcome: 'refused' });
  });

  it('sets the doctor password once, refusing weak or mismatched entries, and stores only an scrypt hash', async () => {
    await expect(doctor.setPassword('short1A!', 'short1A!')).rejects.toBeInstanceOf(WeakPassword);
    await expect(doctor.setPassword('alllowercaseletters', 'alllowercaseletters')).rejects.toBeInstanceOf(WeakPassword);
    await expect(doctor.setPassword('Password123!', 'Password123!')).rejects.toBeInstanceOf(WeakPassword);
    await expect(doctor.setPassword(DOCTOR_PASSWORD, `${DOCTOR_PASSWORD}x`)).rejects.toBeInstanceOf(PasswordsDoNotMatch);
    expect(doctor.hasPassword()).toBe(false);
    await doctor.setPassword(DOCTOR_PASSWORD, DOCTOR_PASSWORD);
    expect(doctor.hasPassword()).toBe(true);
    await expect(doctor.setPassword('Another-Strong-Pass-9', 'Another-Strong-Pass-9')).rejects.toBeInstanceOf(DoctorPasswordAlreadySet);
    const stored = db.prepare('SELECT * FROM doctor_credential').get() as Record<string, unknown>;
    expect(stored).toMatchObject({ algorithm: 'scrypt', cost_n: 32768, block_size_r: 8, parallel_p: 1 });
    expect(JSON.stringify(stored)).not.toContain(DOCTOR_PASSWORD);
    const outcomes = audit.list({ limit: 6 }).reverse().map((e) => `${e.action}:${e.outcome}`);
    expect(outcomes).toEqual(['doctor.password.set:refused', 'doctor.password.set:refused', 'doctor.password.set:refused', 'doctor.password.set:refused', 'doctor.password.set:success', 'doctor.password.set:refused']);
  });

  it('refuses look-up and export while locked, and audits each refusal', async () => {
    const before = audit.count();
    expect(() => doctor.lookup(undefined, { researchId: patients[0]!.researchId })).toThrow(CrosswalkLocked);
    expect(() => doctor.lookup('not-a-session', { researchStudyUid: patients[0]!.studies[0]!.researchUid })).toThrow(CrosswalkLocked);
    const file = path.join(dir, 'locked.zip');
    await expect(doctor.export(undefined, { file, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'all' } })).rejects.toBeInstanceOf(CrosswalkLocked);
    expect(fs.existsSync(file)).toBe(false);
    const entries = audit.list({ limit: 3 }).reverse();
    expect(audit.count()).toBe(before + 3);
    expect(entries.map((e) => `${e.action}:${e.outcome}`)).toEqual(['crosswalk.lookup:refused', 'crosswalk.lookup:refused', 'crosswalk.export:refused']);
  });

  it('pauses unlocking after repeated wrong passwords, longer each time, and audits every attempt', async () => {
    for (let i = 1; i <= FREE_ATTEMPTS; i++) {
      await expect(doctor.unlock('Wrong-Password-000')).rejects.toBeInstanceOf(WrongPassword);
      expect(lastAudit()).toMatchObject({ action: 'doctor.unlock', outcome: 'failure', detail: expect.stringContaining(`${i} in a row`) });
    }
    // Paused: even the right password is not checked.
    const paused = await doctor.unlock(DOCTOR_PASSWORD).catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(UnlockThrottled);
    expect((paused as UnlockThrottled).retryAfterMs).toBe(5_000);
    expect(lastAudit()).toMatchObject({ action: 'doctor.unlock', outcome: 'refused' });
    clock += 5_000;
    await expect(doctor.unlock('Wrong-Password-000')).rejects.toBeInstanceOf(WrongPassword);
    const longer = await doctor.unlock(DOCTOR_PASSWORD).catch((e: unknown) => e);
    expect((longer as UnlockThrottled).retryAfterMs).toBe(10_000);
    clock += 10_000;
    const session = await doctor.unlock(DOCTOR_PASSWORD);
    expect(lastAudit()).toMatchObject({ action: 'doctor.unlock', outcome: 'success' });
    doctor.lock(session.token);
    // A success resets the count: the next wrong password is free again.
    await expect(doctor.unlock('Wrong-Password-000')).rejects.toBeInstanceOf(WrongPassword);
    expect(lastAudit().detail).toContain('1 in a row');
  });

  it('looks up a research ID or a research Study Instance UID while unlocked, and not after the session expires', async () => {
    const session = await doctor.unlock(DOCTOR_PASSWORD);
    const p = patients[1]!;
    const found = doctor.lookup(session.token, { researchId: p.researchId.toLowerCase() });
    expect(found).toMatchObject({ researchId: p.researchId, patientId: 'MRN-1002', issuer: '', name: 'TESTPATIENT2^ÉLODIE "Q", JR', birthDate: '19520304', sex: 'F' });
    expect(found!.studies.map((s) => s.researchStudyUid)).toEqual(p.studies.map((s) => s.researchUid));
    expect(found!.studies[0]).toMatchObject({ studyDate: '20240115', accessionNumber: 'ACC20', studyInstanceUid: p.studies[0]!.uid });
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.lookup', outcome: 'success', detail: expect.stringContaining(p.researchId) });
    expect(lastAudit().detail).not.toContain('MRN-1002');
    expect(lastAudit().detail).not.toContain('TESTPATIENT');
    expect(doctor.lookup(session.token, { researchStudyUid: patients[3]!.studies[1]!.researchUid })?.patientId).toBe('MRN-1004');
    expect(doctor.lookup(session.token, { researchId: 'KGH-NOTKNOWN' })).toBeUndefined();
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.lookup', outcome: 'failure' });
    // A patient's name typed by mistake is not written into the audit log.
    expect(doctor.lookup(session.token, { researchId: 'TESTPATIENT1^ÉLODIE' })).toBeUndefined();
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.lookup', outcome: 'failure', detail: 'research ID: not in the crosswalk' });
    clock += 10 * 60_000;
    expect(() => doctor.lookup(session.token, { researchId: p.researchId })).toThrow(CrosswalkLocked);
  });

  it('exports the whole crosswalk as an AES-256 ZIP that 7-Zip opens with the right password only, rows matching the crosswalk', async () => {
    const session = await doctor.unlock(DOCTOR_PASSWORD);
    const file = path.join(dir, 'all.zip');
    const progress: ExportProgress[] = [];
    await expect(doctor.export(session.token, { file, password: EXPORT_PASSWORD, confirmation: 'Export Kestrel 84 Lanterns', filter: { kind: 'all' } })).rejects.toBeInstanceOf(PasswordsDoNotMatch);
    await expect(doctor.export(session.token, { file, password: 'weakpass', confirmation: 'weakpass', filter: { kind: 'all' } })).rejects.toBeInstanceOf(WeakPassword);
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.export', outcome: 'refused' });
    await expect(doctor.export(session.token, { file: path.join(dir, 'no-such-folder', 'x.zip'), password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'all' } }))
      .rejects.toThrow(/Cannot write the export into .*no-such-folder: choose an existing folder/);
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.export', outcome: 'refused', detail: 'all: InvalidExportRequest' });
    const result = await doctor.export(session.token, { file, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'all' }, onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ patients: 5, rows: 9 });
    expect(progress.at(-1)).toEqual({ rowsWritten: 9, rowsTotal: 9 });
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.export', outcome: 'success', detail: 'all; 5 patients, 9 rows' });
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect(await methodsOf(file)).toEqual(['AES-256 Deflate']);
    expect(fs.readFileSync(file).includes('TESTPATIENT')).toBe(false);

    const wrong = await extractWith7z(file, 'Not The Password 1');
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/Wrong password/i);

    const right = await extractWith7z(file, EXPORT_PASSWORD);
    expect(right.code).toBe(0);
    const [name, text] = [...right.files][0]!;
    expect(name).toMatch(/^crosswalk-KGH-\d{4}-\d{2}-\d{2}\.csv$/);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...CROSSWALK_CSV_HEADER]);
    // Built from the database independently of the exporter.
    const expected = db.prepare(
      `SELECT p.research_id, p.patient_id, p.issuer, p.patient_name, p.birth_date, p.sex,
              coalesce(s.study_date, ''), coalesce(s.accession_number, ''), coalesce(s.study_uid, ''), coalesce(s.research_study_uid, '')
       FROM patients p LEFT JOIN studies s ON s.patient_ref = p.id ORDER BY p.id, s.study_date`,
    ).raw().all() as string[][];
    expect(rows).toEqual(expected);
    expect(rows.find((r) => r[0] === patients[4]!.researchId)?.slice(6)).toEqual(['', '', '', '']);
  });

  it('exports only the studies in a date range, or only chosen research IDs', async () => {
    const session = await doctor.unlock(DOCTOR_PASSWORD);
    const ranged = path.join(dir, 'range.zip');
    const r1 = await doctor.export(session.token, { file: ranged, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'dateRange', from: '20250201', to: '20250331' } });
    expect(r1).toMatchObject({ patients: 2, rows: 2 });
    const rangeRows = parseCsv([...(await extractWith7z(ranged, EXPORT_PASSWORD)).files.values()][0]!).slice(1);
    expect(rangeRows.map((r) => r[6])).toEqual(['20250220', '20250320']);
    expect(rangeRows.map((r) => r[0])).toEqual([patients[1]!.researchId, patients[2]!.researchId]);

    const chosen = path.join(dir, 'chosen.zip');
    const ids = [patients[0]!.researchId, patients[4]!.researchId];
    const r2 = await doctor.export(session.token, { file: chosen, password: EXPORT_PASSWORD, confirmation: EXPORT_PASSWORD, filter: { kind: 'researchIds', researchIds: ids } });
    expect(r2).toMatchObject({ patients: 2, rows: 3 });
    const chosenRows = parseCsv([...(await extractWith7z(chosen, EXPORT_PASSWORD)).files.values()][0]!).slice(1);
    expect(new Set(chosenRows.map((r) => r[0]))).toEqual(new Set(ids));
    expect(lastAudit()).toMatchObject({ action: 'crosswalk.export', outcome: 'success', detail: '2 research ID(s); 2 patients, 3 rows' });
  });

  it('counts parallel wrong guesses one at a time, so they cannot slip past the pause', async () => {
    clock += 60 * 60_000;
    const before = audit.count();
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => doctor.unlock(`Parallel-Guess-${i}-xyz`)));
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'unlocked'));
    expect(reasons.filter((n) => n === 'UnlockThrottled')).toHaveLength(6 - FREE_ATTEMPTS);
    expect(reasons.filter((n) => n === 'WrongPassword')).toHaveLength(FREE_ATTEMPTS);
    expect(audit.count()).toBe(before + 6);
  });

  it('keeps an audit trail that verifies and holds no patient data', () => {
    expect(audit.verify()).toMatchObject({ ok: true });
    const all = audit.export('json');
    for (const p of patients) {
      expect(all).not.toContain(`MRN-${1000 + p.n}`);
      expect(all).not.toContain(`TESTPATIENT${p.n}`);
    }
    expect(all).not.toContain(DOCTOR_PASSWORD);
    expect(all).not.toContain(EXPORT_PASSWORD);
  });
});
