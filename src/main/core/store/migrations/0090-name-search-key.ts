import type Database from 'better-sqlite3-multiple-ciphers';
import { foldForSearch } from '../../../../shared/search';
import type { Migration } from '../migrate';

/**
 * Each patient's name in its search form (case and accents folded, `src/shared/search.ts`), so `muller` finds
 * `MÜLLER`: SQLite's own LIKE folds ASCII letters only. Patients already in the crosswalk get theirs here.
 */
export const migration0090: Migration = {
  version: 90,
  name: 'folded name search key',
  up: (db: Database.Database) => {
    db.exec('ALTER TABLE patients ADD COLUMN name_search TEXT');
    const update = db.prepare('UPDATE patients SET name_search = ? WHERE id = ?');
    // Read first, then write: better-sqlite3 allows no statement while another one's rows are being iterated.
    for (const row of db.prepare('SELECT id, patient_name FROM patients').all() as Array<{ id: number; patient_name: string }>) {
      update.run(foldForSearch(row.patient_name), row.id);
    }
  },
};
