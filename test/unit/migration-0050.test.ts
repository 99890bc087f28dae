import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { migration0010 } from '../../src/main/core/store/migrations/0010-create-crosswalk-and-jobs';
import { migration0030 } from '../../src/main/core/store/migrations/0030-audit-doctor-retention';
import { migration0040 } from '../../src/main/core/store/migrations/0040-date-shift-and-release';
import { migration0050 } from '../../src/main/core/store/migrations/0050-study-completion';
import { JobStore } from '../../src/main/core/jobs';

function studyWithInstances(db: InstanceType<typeof Database>, jobs: JobStore, n: number): { studyRef: number; ids: number[] } {
  db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('S-1', 'P1', '', 'N', '', 'F', 'now')`).run();
  const studyRef = Number(
    db.prepare(`INSERT INTO studies (patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number, study_id, research_study_id, modality, created_at)
      VALUES (1, '1.2', '2.25.1', '20250101', '', 'A', '', 'S', 'MG', 'now')`).run().lastInsertRowid,
  );
  const ids = Array.from({ length: n }, (_, i) => {
    const id = jobs.recordReceived({ sopInstanceUid: `1.2.${i}`, spoolPath: `/spool/${i}`, callingAeTitle: 'MODALITY', sizeBytes: 10 });
    jobs.markDeidentified(id, { studyRef, outboxPath: `/outbox/${i}`, researchSopInstanceUid: `2.25.${i}` });
    return id;
  });
  return { studyRef, ids };
}

describe('migration 0050: study completion and upload time', () => {
  it('adds the columns to a version-40 database without touching its rows', () => {
    const db = new Database(':memory:');
    migrate(db, [migration0010, migration0030, migration0040]);
    db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('S-1', 'P1', '', 'N', '', 'F', 'now')`).run();
    expect(migrate(db, [migration0010, migration0030, migration0040, migration0050])).toBe(50);
    expect(db.prepare('SELECT research_id FROM patients').get()).toEqual({ research_id: 'S-1' });
    const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns('studies')).toContain('completed_at');
    expect(columns('instances')).toContain('uploaded_at');
  });

  it('re-sends a completed study from the files retention kept: the copy, else the original, and counts the rest as missing', () => {
    const db = new Database(':memory:');
    migrate(db, migrations);
    const jobs = new JobStore(db as never);
    const { studyRef, ids } = studyWithInstances(db, jobs, 3);
    jobs.markUploaded(ids[0]!, { spool: false, outbox: true });
    jobs.markUploaded(ids[1]!, { spool: true, outbox: false });
    jobs.markUploaded(ids[2]!, { spool: false, outbox: false });
    expect(jobs.filesInUse()).toEqual(new Set(['/outbox/0', '/spool/1']));
    expect(jobs.studyProgress(studyRef).completedAt).not.toBeNull();
    expect(jobs.resendUploadedStudy(studyRef)).toEqual({ queued: 2, missing: 1 });
    expect(jobs.get(ids[0]!)!.state).toBe('deidentified');
    expect(jobs.get(ids[1]!)!.state).toBe('received');
    expect(jobs.studyProgress(studyRef).completedAt).toBeNull();
    // A retention sweep that comes after the resend must not delete the files the resend now needs.
    expect(jobs.markFilesKept(ids[0]!, { spool: false, outbox: false })).toBe(false);
    expect(jobs.keptFiles()).toEqual([]);
  });
});
