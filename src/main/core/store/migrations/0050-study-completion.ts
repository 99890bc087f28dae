import type { Migration } from '../migrate';

/**
 * A study is complete once all its instances are uploaded (completed_at); uploaded_at times each upload, from
 * which retention counts how long the kept files stay.
 */
export const migration0050: Migration = {
  version: 50,
  name: 'study completion and upload time',
  up: `
    ALTER TABLE studies ADD COLUMN completed_at TEXT;
    ALTER TABLE instances ADD COLUMN uploaded_at INTEGER;
  `,
};
