import type { Migration } from '../migrate';

/** The crosswalk (patients, studies, UID map) and the job store (one row per received instance). */
export const migration0010: Migration = {
  version: 10,
  name: 'create crosswalk and jobs',
  up: `
    CREATE TABLE patients (
      id INTEGER PRIMARY KEY,
      research_id TEXT NOT NULL UNIQUE,
      patient_id TEXT NOT NULL,
      issuer TEXT NOT NULL,
      patient_name TEXT NOT NULL,
      birth_date TEXT NOT NULL,
      sex TEXT NOT NULL,
      created_at TEXT NOT NULL,
      UNIQUE (patient_id, issuer)
    );
    CREATE TABLE studies (
      id INTEGER PRIMARY KEY,
      patient_ref INTEGER NOT NULL REFERENCES patients(id),
      study_uid TEXT NOT NULL UNIQUE,
      research_study_uid TEXT NOT NULL,
      study_date TEXT NOT NULL,
      accession_number TEXT NOT NULL,
      research_accession_number TEXT NOT NULL,
      study_id TEXT NOT NULL,
      research_study_id TEXT NOT NULL,
      modality TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE TABLE uid_map (
      original TEXT PRIMARY KEY,
      replacement TEXT NOT NULL UNIQUE
    ) WITHOUT ROWID;
    CREATE TABLE instances (
      id INTEGER PRIMARY KEY,
      sop_instance_uid TEXT NOT NULL,
      research_sop_instance_uid TEXT,
      study_ref INTEGER REFERENCES studies(id),
      state TEXT NOT NULL CHECK (state IN ('received', 'deidentified', 'uploading', 'uploaded', 'held', 'failed', 'discarded')),
      spool_path TEXT NOT NULL,
      outbox_path TEXT,
      calling_ae_title TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      destination_id TEXT,
      received_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX instances_by_state ON instances (state, next_attempt_at);
    CREATE INDEX instances_by_study ON instances (study_ref);
  `,
};
