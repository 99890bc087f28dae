import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewaySettings, describeSettingsProblems } from '../../src/shared/settings';
import { spoolRefusal, waitingBytesGauge } from '../../src/main/core/gateway';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { retryDelayMs } from '../../src/main/core/pipeline';
import { openDatabase } from '../../src/main/core/store';
import { JobStore } from '../../src/main/core/jobs';

const newStore = () => {
  const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-')), 'gateway.db'), crypto.randomBytes(32).toString('hex'));
  db.prepare(`INSERT INTO patients (id, research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES (1, 'R-1', 'P', '', 'N', '', '', 'now')`).run();
  db.prepare(`INSERT INTO studies (id, patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number, study_id, research_study_id, modality, created_at)
    VALUES (1, 1, '1.2.3', '2.25.1', '', '', '', '', '', 'MG', 'now')`).run();
  return { db, jobs: new JobStore(db) };
};
const receive = (jobs: JobStore, n: number) => jobs.recordReceived({ sopInstanceUid: `1.2.3.${n}`, spoolPath: `/spool/${n}.dcm`, callingAeTitle: 'MAMMO', sizeBytes: 1000 });

describe('settings: limits and destination types', () => {
  it('fills the limits with their documented defaults', () => {
    // toMatchObject: each topic's keys are pinned by its own tests (the content limits in test/unit/content-limits.test.ts).
    expect(GatewaySettings.parse({}).limits).toMatchObject({
      spoolCapBytes: 20 * 1024 ** 3, minFreeBytes: 2 * 1024 ** 3, maxAssociations: 8, maxPduBytes: 256 * 1024, idleTimeoutSeconds: 60,
    });
  });
  it('fills the slow-sender deadlines with their documented defaults', () => {
    expect(GatewaySettings.parse({}).limits).toMatchObject({ pduTimeoutSeconds: 30, minTransferBytesPerSecond: 32 * 1024 });
  });
  it('keeps the url/username/password form valid, as an Orthanc REST destination', () => {
    expect(GatewaySettings.parse({ destination: { url: 'http://o:8042', username: 'u', password: 'p' } }).destination?.type).toBe('orthanc-rest');
  });
  it('asks each destination type for what it needs', () => {
    const dimse = GatewaySettings.safeParse({ destination: { type: 'dimse', host: 'pacs' } });
    expect(dimse.success).toBe(false);
    expect(describeSettingsProblems(dimse.error!)).toEqual(expect.arrayContaining(['destination.port: port is needed for a DICOM (dimse) destination', 'destination.calledAeTitle: calledAeTitle is needed for a DICOM (dimse) destination']));
    expect(describeSettingsProblems(GatewaySettings.safeParse({ destination: { type: 'dicomweb' } }).error!)).toEqual(['destination.url: Destination URL is needed for type dicomweb']);
    expect(GatewaySettings.safeParse({ destination: { type: 'dimse', host: 'pacs', port: 104, calledAeTitle: 'PACS' } }).success).toBe(true);
  });
});

describe('back-pressure', () => {
  const limits = GatewaySettings.parse({ limits: { spoolCapBytes: 1_000_000, minFreeBytes: 500_000 } }).limits;
  it('refuses at the spool cap and below the free-space floor, and only then', () => {
    expect(spoolRefusal(limits, 999_999, 10_000_000)).toBeUndefined();
    expect(spoolRefusal(limits, 1_000_000, 10_000_000)).toMatch(/^spool full/);
    expect(spoolRefusal(limits, 0, 499_999)).toMatch(/^disk nearly full/);
  });
});

describe('waiting bytes for admission', () => {
  it('sums the backlog at most every half second and counts what arrives in between', () => {
    let sums = 0;
    let backlog = 1000;
    const gauge = waitingBytesGauge(() => {
      sums += 1;
      return backlog;
    });
    expect(gauge.read(10_000)).toBe(1000);
    gauge.add(500);
    backlog = 100; // uploads freed space: seen at the next sum, not before
    expect(gauge.read(10_499)).toBe(1500);
    expect(sums).toBe(1);
    expect(gauge.read(10_500)).toBe(100);
    expect(sums).toBe(2);
    backlog = 0;
    expect(gauge.refresh(10_600)).toBe(0);
    expect(gauge.read(10_700)).toBe(0);
    expect(sums).toBe(3);
  });
});

describe('crosswalk: one transaction per de-identified instance', () => {
  const identity = { patientId: 'P1', issuerOfPatientId: '', patientName: 'DOE^JANE', birthDate: '19600101', sex: 'F', studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2', studyDate: '20260101', accessionNumber: 'A1', studyId: 'S1', modality: 'MG' };
  const uidCount = (db: ReturnType<typeof newStore>['db']) => (db.prepare('SELECT count(*) AS n FROM uid_map').get() as { n: number }).n;

  it('keeps every link and mapping made in it, and on failure none, with the cache forgetting them too', () => {
    const { db } = newStore();
    const crosswalk = new Crosswalk(db, 'SITE');
    const before = uidCount(db);
    expect(() => crosswalk.inOneTransaction(() => {
      crosswalk.linkStudy(crosswalk.linkPatient({ ...identity, studyInstanceUid: '9.9.9' }), { ...identity, studyInstanceUid: '9.9.9' });
      crosswalk.mapUid('1.2.3.4.5');
      throw new Error('de-identification failed');
    })).toThrow('de-identification failed');
    expect(uidCount(db)).toBe(before);
    expect(db.prepare(`SELECT count(*) AS n FROM patients WHERE patient_id = 'P1'`).get()).toEqual({ n: 0 });

    // Had the cache kept the rolled-back mapping, this would return it without storing it.
    const mapped = crosswalk.inOneTransaction(() => crosswalk.mapUid('1.2.3.4.5'));
    expect(db.prepare('SELECT replacement FROM uid_map WHERE original = ?').get('1.2.3.4.5')).toEqual({ replacement: mapped });
    expect(new Crosswalk(db, 'SITE').mapUid('1.2.3.4.5')).toBe(mapped);
  });
});

describe('retry backoff', () => {
  it('doubles from 1 s with jitter (0.5–1.0 of the step) and stays at most 5 minutes, however long it goes on', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const step = Math.min(300_000, 1000 * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const d = retryDelayMs(attempt);
        expect(d).toBeGreaterThanOrEqual(step * 0.5);
        expect(d).toBeLessThanOrEqual(step);
      }
    }
  });
});

describe('job store state machine', () => {
  it('puts an upload cut short by a crash back in the outbox', () => {
    const { jobs } = newStore();
    const id = receive(jobs, 1);
    jobs.markDeidentified(id, { studyRef: 1, outboxPath: '/outbox/1.dcm', researchSopInstanceUid: '2.25.9' });
    jobs.markUploading(id);
    expect(jobs.get(id)?.state).toBe('uploading');
    expect(jobs.recoverInterruptedUploads()).toBe(1);
    expect(jobs.get(id)?.state).toBe('deidentified');
  });
  it('marks the study complete with its last upload, and incomplete again when a late instance arrives', () => {
    const { jobs } = newStore();
    const a = receive(jobs, 1);
    const b = receive(jobs, 2);
    for (const id of [a, b]) jobs.markDeidentified(id, { studyRef: 1, outboxPath: `/outbox/${id}.dcm`, researchSopInstanceUid: `2.25.${id}` });
    expect(jobs.markUploaded(a, { spool: false, outbox: true }).studyCompleted).toBe(false);
    expect(jobs.markUploaded(b, { spool: false, outbox: true }).studyCompleted).toBe(true);
    expect(jobs.studyProgress(1).completedAt).not.toBeNull();
    const late = receive(jobs, 3);
    jobs.markDeidentified(late, { studyRef: 1, outboxPath: '/outbox/late.dcm', researchSopInstanceUid: '2.25.3' });
    expect(jobs.studyProgress(1).completedAt).toBeNull();
  });
  it('resends one failed instance, or all, from the outbox copy; a retry returns an upload to the outbox', () => {
    const { jobs } = newStore();
    const ids = [receive(jobs, 1), receive(jobs, 2), receive(jobs, 3)];
    for (const id of ids) {
      jobs.markDeidentified(id, { studyRef: 1, outboxPath: `/outbox/${id}.dcm`, researchSopInstanceUid: `2.25.${id}` });
      jobs.markUploading(id);
      jobs.markFailed(id, 'Research server rejected the upload: 403 Forbidden');
    }
    expect(jobs.failedStudyRefs()).toEqual([1]);
    expect(jobs.resendFailed({ instanceId: ids[0] })).toBe(1);
    expect(jobs.get(ids[0]!)).toMatchObject({ state: 'deidentified', attempts: 0, lastError: null });
    expect(jobs.resendFailed()).toBe(2);
    jobs.markUploading(ids[1]!);
    jobs.markRetry(ids[1]!, 'connection refused', Date.now() + 1000);
    expect(jobs.get(ids[1]!)).toMatchObject({ state: 'deidentified', attempts: 1 });
  });
  it('re-sends a completed study only from copies still retained, and counts the others as missing', () => {
    const { jobs } = newStore();
    const a = receive(jobs, 1);
    const b = receive(jobs, 2);
    for (const id of [a, b]) jobs.markDeidentified(id, { studyRef: 1, outboxPath: `/outbox/${id}.dcm`, researchSopInstanceUid: `2.25.${id}` });
    jobs.markUploaded(a, { spool: false, outbox: true });
    jobs.markUploaded(b, { spool: false, outbox: false });
    expect(jobs.filesInUse().has(`/outbox/${a}.dcm`)).toBe(true);
    expect(jobs.resendUploadedStudy(1)).toEqual({ queued: 1, missing: 1 });
    expect(jobs.get(a)?.state).toBe('deidentified');
  });
});
