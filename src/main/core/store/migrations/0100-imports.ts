import type { Migration } from '../migrate';

/**
 * Folder / disk / DICOMDIR imports, kept so an import survives a restart: one row per import and one per file
 * found (its outcome, and the instance it became). The index on the original SOP Instance UID lets an import
 * tell an instance already received or delivered from a new one without reading every instance.
 */
export const migration0100: Migration = {
  version: 100,
  name: 'imports',
  up: `
    CREATE TABLE imports (
      id INTEGER PRIMARY KEY,
      root TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'cancelled', 'done')),
      discovered INTEGER NOT NULL DEFAULT 0,
      bytes_copied INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL,
      finished_at TEXT
    );
    CREATE TABLE import_files (
      id INTEGER PRIMARY KEY,
      import_ref INTEGER NOT NULL REFERENCES imports(id),
      path TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'queued', 'already-delivered', 'already-received', 'not-dicom', 'directory', 'failed')),
      instance_ref INTEGER REFERENCES instances(id),
      reason TEXT,
      UNIQUE (import_ref, path)
    );
    CREATE INDEX import_files_by_state ON import_files (import_ref, state, id);
    CREATE INDEX instances_by_sop_instance_uid ON instances (sop_instance_uid);
  `,
};
