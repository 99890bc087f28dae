import type { Migration } from '../migrate';

/**
 * Each patient's random date shift (days, set on first need; NULL until then), and the record of an
 * instance released from the review list by a technologist, which lets it skip the burned-in text check.
 */
export const migration0040: Migration = {
  version: 40,
  name: 'date shift and release of held instances',
  up: `
    ALTER TABLE patients ADD COLUMN date_shift_days INTEGER;
    ALTER TABLE instances ADD COLUMN released_at TEXT;
    ALTER TABLE instances ADD COLUMN released_reason TEXT;
  `,
};
