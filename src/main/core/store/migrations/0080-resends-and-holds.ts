import type { Migration } from '../migrate';

/**
 * What recognises a resend and what retention of held data needs:
 * - `received_sha256`: the hash of the spooled file, so the same bytes under the same SOP Instance UID (a modality
 *   sending again after a lost answer) are linked to the first job instead of becoming a second one; `resends`
 *   counts them;
 * - `held_at` (ms) and `refused_at_intake`: when an instance was held and whether intake refused it (a data set
 *   that could not be used) or it waits for a person (burned-in text, residual identifying data), each with its
 *   own retention. Rows already held take their last update as the time they were held.
 */
export const migration0080: Migration = {
  version: 80,
  name: 'resends and retention of held instances',
  up: `
    ALTER TABLE instances ADD COLUMN received_sha256 TEXT;
    ALTER TABLE instances ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN held_at INTEGER;
    ALTER TABLE instances ADD COLUMN refused_at_intake INTEGER NOT NULL DEFAULT 0;
    UPDATE instances SET held_at = CAST(strftime('%s', updated_at) AS INTEGER) * 1000,
      refused_at_intake = (last_error LIKE 'Refused at intake:%')
      WHERE state = 'held';
    CREATE INDEX instances_by_sop_uid ON instances (sop_instance_uid);
    CREATE INDEX instances_held_by_time ON instances (held_at) WHERE state = 'held';
  `,
};
