import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from '../../src/main/core/store';
import { migration0010 } from '../../src/main/core/store/migrations/0010-create-crosswalk-and-jobs';
import { migration0040 } from '../../src/main/core/store/migrations/0040-date-shift-and-release';
import { migrations } from '../../src/main/core/store/migrations';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { JobStore } from '../../src/main/core/jobs';

describe('migration 0040: date shift and release of held instances', () => {
  it('adds the columns to a version-10 database without touching its rows', () => {
    const db = new Database(':memory:');
    migrate(db, [migration0010]);
    db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('S-1', 'P1', '', 'N', '', 'F', 'now')`).run();
    expect(migrate(db, [migration0010, migration0040])).toBe(40);
    expect(db.prepare('SELECT research_id, date_shift_days FROM patients').get()).toEqual({ research_id: 'S-1', date_shift_days: null });
    const columns = (db.prepare('PRAGMA table_info(instances)').all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['released_at', 'released_reason']));
  });

  it('draws a patient date shift once, within bounds and never zero, then keeps it', () => {
    const db = new Database(':memory:');
    // The crosswalk as it is today writes today's schema (the search key of 0080 included).
    migrate(db, migrations);
    const crosswalk = new Crosswalk(db as never, 'SITE');
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const patient = crosswalk.linkPatient({ patientId: `P${i}`, issuerOfPatientId: '', patientName: 'N', birthDate: '', sex: '' } as never);
      const days = crosswalk.dateShiftDays(patient, 30);
      expect(days).not.toBe(0);
      expect(Math.abs(days)).toBeLessThanOrEqual(30);
      expect(crosswalk.dateShiftDays(patient, 30)).toBe(days);
      seen.add(days);
    }
    expect(seen.size).toBeGreaterThan(5); // random, not a constant
  });

  it('releases a held instance back to received, recording when and why it was held', () => {
    const db = new Database(':memory:');
    migrate(db, migrations);
    const jobs = new JobStore(db as never);
    const id = jobs.recordReceived({ sopInstanceUid: '1.2.3', spoolPath: '/tmp/x', callingAeTitle: 'A', sizeBytes: 1 });
    expect(jobs.releaseHeld(id)).toBe(false); // not held
    jobs.markHeld(id, 'Burned-in text possible');
    expect(jobs.releaseHeld(id)).toBe(true);
    const job = jobs.get(id)!;
    expect(job.state).toBe('received');
    expect(job.releasedAt).not.toBeNull();
    expect(job.lastError).toBeNull();
    expect(db.prepare('SELECT released_reason FROM instances WHERE id = ?').get(id)).toEqual({ released_reason: 'Burned-in text possible' });
  });
});
