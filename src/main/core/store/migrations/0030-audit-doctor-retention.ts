import type { Migration } from '../migrate';

/**
 * The tamper-evident audit log, the doctor's credential and unlock throttle, look-up indexes for the
 * crosswalk, and the record of which uploaded instances still keep their files (retention).
 */
export const migration0030: Migration = {
  version: 30,
  name: 'audit log, doctor credential, retention',
  up: `
    CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY,
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      outcome TEXT NOT NULL,
      detail TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE
    );
    -- Append-only inside the app; verify() still catches anyone who drops these and edits the file.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    CREATE TABLE doctor_credential (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      algorithm TEXT NOT NULL,
      salt TEXT NOT NULL,
      hash TEXT NOT NULL,
      cost_n INTEGER NOT NULL,
      block_size_r INTEGER NOT NULL,
      parallel_p INTEGER NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE TABLE doctor_unlock_throttle (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      consecutive_failures INTEGER NOT NULL,
      locked_until INTEGER NOT NULL
    );

    CREATE INDEX studies_by_patient ON studies (patient_ref);
    CREATE INDEX studies_by_research_uid ON studies (research_study_uid);
    CREATE INDEX studies_by_date ON studies (study_date);

    -- 1 while an uploaded instance's spool original / outbox file is kept for the retention period.
    ALTER TABLE instances ADD COLUMN spool_kept INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN outbox_kept INTEGER NOT NULL DEFAULT 0;
  `,
};
