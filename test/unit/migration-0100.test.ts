import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { migration0100 } from '../../src/main/core/store/migrations/0100-imports';
import { ImportStore } from '../../src/main/core/import/import-store';

const plan = (db: InstanceType<typeof Database>, sql: string, ...params: unknown[]): string =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('; ');

describe('migration 0100: imports', () => {
  it('applies on a version-70 database, keeping its rows', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version < 100));
    db.prepare(`INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at) VALUES ('1.2', 'uploaded', '/s', 'M', 1, 'now', 'now')`).run();
    expect(migrate(db, migrations.filter((m) => m.version <= 100))).toBe(100);
    expect(migration0100.version).toBe(100);
    expect(db.prepare('SELECT count(*) AS n FROM instances').get()).toEqual({ n: 1 });
    // An instance received before the migration counts as delivered for an import.
    expect(new ImportStore(db as never).knownInstance('1.2')).toBe('delivered');
  });

  it('finds an instance by its original SOP Instance UID through an index, not by reading every instance', () => {
    const db = new Database(':memory:');
    migrate(db, migrations);
    expect(plan(db, `SELECT state FROM instances WHERE sop_instance_uid = ? AND state <> 'discarded' ORDER BY id DESC LIMIT 1`, 'x')).toMatch(/instances_by_sop_instance_uid/);
    expect(plan(db, `SELECT id FROM import_files WHERE import_ref = ? AND state = 'pending' ORDER BY id`, 1)).toMatch(/import_files_by_state/);
  });

  it('keeps one row per path within an import, and moves a file out of pending only once', () => {
    const db = new Database(':memory:');
    migrate(db, migrations);
    const store = new ImportStore(db as never);
    const id = store.create('/archive');
    store.addFiles(id, [{ path: '/archive/a', sizeBytes: 10 }, { path: '/archive/a', sizeBytes: 10 }, { path: '/archive/b', sizeBytes: 5, state: 'failed', reason: 'gone' }]);
    const pending = store.nextPending(new Set());
    expect(pending).toMatchObject({ path: '/archive/a', sizeBytes: 10 });
    expect(store.settle(pending!.id, 'not-dicom')).toBe(true);
    expect(store.settle(pending!.id, 'queued')).toBe(false);
    expect(Object.fromEntries([...store.figures(id)].map(([k, v]) => [k, v.n]))).toEqual({ 'not-dicom': 1, failed: 1 });
    expect(store.transition(id, ['running'], 'paused')).toBe(true);
    expect(store.transition(id, ['running'], 'cancelled')).toBe(false);
  });
});
