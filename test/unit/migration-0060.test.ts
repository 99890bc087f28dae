import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { migration0010 } from '../../src/main/core/store/migrations/0010-create-crosswalk-and-jobs';
import { migration0030 } from '../../src/main/core/store/migrations/0030-audit-doctor-retention';
import { migration0040 } from '../../src/main/core/store/migrations/0040-date-shift-and-release';
import { migration0050 } from '../../src/main/core/store/migrations/0050-study-completion';
import { migration0060 } from '../../src/main/core/store/migrations/0060-verification';
import { JobStore } from '../../src/main/core/jobs';

const BEFORE = [migration0010, migration0030, migration0040, migration0050];

function storeWithStudy(n: number): { db: InstanceType<typeof Database>; jobs: JobStore; studyRef: number; ids: number[] } {
  const db = new Database(':memory:');
  migrate(db, migrations);
  const jobs = new JobStore(db as never);
  db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('S-1', 'P1', '', 'N', '', 'F', 'now')`).run();
  const studyRef = Number(
    db.prepare(`INSERT INTO studies (patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number, study_id, research_study_id, modality, created_at)
      VALUES (1, '1.2', '2.25.1', '20250101', '', 'A', '', 'S', 'MG', 'now')`).run().lastInsertRowid,
  );
  const ids = Array.from({ length: n }, (_, i) => jobs.recordReceived({ sopInstanceUid: `1.2.${i}`, spoolPath: `/spool/${i}`, callingAeTitle: 'MODALITY', sizeBytes: 10 }));
  return { db, jobs, studyRef, ids };
}

const output = (studyRef: number, i: number) => ({
  studyRef,
  outboxPath: `/outbox/${i}`,
  researchSopInstanceUid: `2.25.${i}`,
  researchSeriesInstanceUid: '2.25.99',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  outputSizeBytes: 1000 + i,
  policy: { hash: 'ab'.repeat(32), description: { schema: 1, birthDate: 'YYYYMM15' } },
});

describe('migration 0060: policy, residual check and delivery confirmation', () => {
  it('adds the policy table and the columns to a version-50 database without touching its rows', () => {
    const db = new Database(':memory:');
    migrate(db, BEFORE);
    db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('S-1', 'P1', '', 'N', '', 'F', 'now')`).run();
    db.prepare(`INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at) VALUES ('1.2.3', 'uploaded', '/s', 'M', 1, 'now', 'now')`).run();
    expect(migrate(db, [...BEFORE, migration0060])).toBe(60);
    expect(db.prepare('SELECT research_id FROM patients').get()).toEqual({ research_id: 'S-1' });
    expect(db.prepare('SELECT state, confirm_before_upload, delivered_at FROM instances').get()).toEqual({ state: 'uploaded', confirm_before_upload: 0, delivered_at: null });
    const columns = (db.prepare('PRAGMA table_info(instances)').all() as Array<{ name: string }>).map((c) => c.name);
    for (const c of ['deid_policy', 'residual_paths', 'transfer_syntax_uid', 'output_size_bytes', 'output_md5', 'delivered_at', 'server_instance_id', 'delivery_confirmation', 'confirm_before_upload']) {
      expect(columns).toContain(c);
    }
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'deid_policies'`).get()).toEqual({ name: 'deid_policies' });
  });

  it('records the policy once, with each instance made under it', () => {
    const { db, jobs, studyRef, ids } = storeWithStudy(2);
    jobs.markDeidentified(ids[0]!, output(studyRef, 0));
    jobs.markDeidentified(ids[1]!, output(studyRef, 1));
    expect(db.prepare('SELECT count(*) AS n FROM deid_policies').get()).toEqual({ n: 1 });
    expect(jobs.policyOf(ids[1]!)).toEqual({ hash: 'ab'.repeat(32), description: { schema: 1, birthDate: 'YYYYMM15' } });
  });

  it('records how each delivery was confirmed, and counts received / de-identified / delivered per study', () => {
    const { jobs, studyRef, ids } = storeWithStudy(3);
    for (const [i, id] of ids.entries()) jobs.markDeidentified(id, output(studyRef, i));
    jobs.markUploaded(ids[0]!, { spool: false, outbox: true }, { serverInstanceId: 'orthanc-id-0', confirmation: 'Orthanc REST: SOP Instance UID, size, MD5', md5: 'f'.repeat(32) });
    expect(jobs.studyProgress(studyRef)).toMatchObject({ received: 3, deidentified: 3, delivered: 1, withheld: 0, complete: false, completedAt: null });
    expect(jobs.deliveredInstances(studyRef)).toEqual([
      expect.objectContaining({ id: ids[0], researchSopInstanceUid: '2.25.0', researchStudyUid: '2.25.1', serverInstanceId: 'orthanc-id-0', outputMd5: 'f'.repeat(32), outputSizeBytes: 1000, outboxKept: true }),
    ]);
    jobs.markUploaded(ids[1]!);
    jobs.markUploaded(ids[2]!);
    expect(jobs.studyProgress(studyRef)).toMatchObject({ delivered: 3, complete: true });
  });

  it('a withheld instance keeps its study incomplete, even one that had completed', () => {
    const { jobs, studyRef, ids } = storeWithStudy(2);
    jobs.markDeidentified(ids[0]!, output(studyRef, 0));
    jobs.markUploaded(ids[0]!);
    jobs.markHeld(ids[1]!, 'Residual identifying data at PatientMotherBirthName', { studyRef, residualPaths: ['PatientMotherBirthName'] });
    expect(jobs.studyProgress(studyRef)).toMatchObject({ received: 2, deidentified: 1, delivered: 1, withheld: 1, residualPhiHolds: 1, complete: false, completedAt: null });
  });

  it('a delivery found missing goes back to the queue from the kept copy or original, else fails with the reason; resends look first', () => {
    const { jobs, studyRef, ids } = storeWithStudy(3);
    for (const [i, id] of ids.entries()) jobs.markDeidentified(id, output(studyRef, i));
    jobs.markUploaded(ids[0]!, { spool: false, outbox: true });
    jobs.markUploaded(ids[1]!, { spool: true, outbox: false });
    jobs.markUploaded(ids[2]!, { spool: false, outbox: false });
    expect(jobs.studyProgress(studyRef).complete).toBe(true);
    expect(jobs.requeueMissing(ids[0]!, 'gone')).toBe('deidentified');
    expect(jobs.requeueMissing(ids[1]!, 'gone')).toBe('received');
    expect(jobs.requeueMissing(ids[2]!, 'send again from the modality')).toBe('failed');
    expect(jobs.get(ids[2]!)!.lastError).toBe('send again from the modality');
    expect(jobs.requeueMissing(ids[2]!, 'again')).toBeUndefined();
    expect(jobs.studyProgress(studyRef)).toMatchObject({ completedAt: null, delivered: 0 });
    expect(jobs.resendFailed({ instanceId: ids[2]! })).toBe(1);
    expect(jobs.get(ids[2]!)!.confirmBeforeUpload).toBe(true);
    expect(jobs.get(ids[0]!)!.confirmBeforeUpload).toBe(false);
  });
});
