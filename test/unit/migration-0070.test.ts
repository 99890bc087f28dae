import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { migration0070 } from '../../src/main/core/store/migrations/0070-screen-indexes';
import { StudyQueries } from '../../src/main/core/jobs/study-queries';

const plan = (db: InstanceType<typeof Database>, sql: string, ...params: unknown[]): string =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('; ');

describe('migration 0070: indexes for the status screen', () => {
  it('applies on a version-60 database, keeping its rows', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version < 70));
    db.prepare(`INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at) VALUES ('1.2', 'received', '/s', 'M', 1, 'now', 'now')`).run();
    expect(migrate(db, migrations.filter((m) => m.version <= 70))).toBe(70);
    expect(migration0070.version).toBe(70);
    expect(db.prepare('SELECT count(*) AS n FROM instances').get()).toEqual({ n: 1 });
  });

  it('lets today\'s counts, the hourly chart and the last upload use an index rather than read every instance', () => {
    const db = new Database(':memory:');
    migrate(db, migrations);
    // The queries StudyQueries runs (kept in step with it by the checks below).
    const queries = new StudyQueries(db as never);
    const at = new Date('2026-12-03T10:30:00Z');
    expect(queries.countsSince(at)).toEqual({ received: 0, deidentified: 0, uploaded: 0, held: 0, failed: 0 });
    expect(queries.hourly(at, 12)).toHaveLength(12);
    expect(plan(db, `SELECT count(*) FROM instances WHERE received_at >= ?`, 'x')).toMatch(/USING (COVERING )?INDEX instances_by_received/);
    expect(plan(db, `SELECT max(uploaded_at) FROM instances WHERE uploaded_at IS NOT NULL`)).toMatch(/instances_by_upload_time/);
    expect(plan(db, `SELECT count(*) FROM instances WHERE uploaded_at IS NOT NULL AND uploaded_at >= ?`, 0)).toMatch(/instances_by_upload_time/);
  });
});
