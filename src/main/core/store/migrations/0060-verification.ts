import type { Migration } from '../migrate';

/**
 * Trust but verify: the de-identification policy each instance was made under (its full description kept once per
 * policy), what the residual-identifying-data check found, the facts of the output file that delivery is confirmed
 * against, and how and when the research server was seen to hold the instance.
 */
export const migration0060: Migration = {
  version: 60,
  name: 'de-identification policy, residual check and delivery confirmation',
  up: `
    CREATE TABLE deid_policies (
      hash TEXT PRIMARY KEY,
      description TEXT NOT NULL,
      first_used_at TEXT NOT NULL
    );
    ALTER TABLE instances ADD COLUMN deid_policy TEXT REFERENCES deid_policies (hash);
    ALTER TABLE instances ADD COLUMN residual_paths TEXT;
    ALTER TABLE instances ADD COLUMN research_series_instance_uid TEXT;
    ALTER TABLE instances ADD COLUMN transfer_syntax_uid TEXT;
    ALTER TABLE instances ADD COLUMN output_size_bytes INTEGER;
    ALTER TABLE instances ADD COLUMN output_md5 TEXT;
    ALTER TABLE instances ADD COLUMN confirm_before_upload INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN delivered_at TEXT;
    ALTER TABLE instances ADD COLUMN server_instance_id TEXT;
    ALTER TABLE instances ADD COLUMN delivery_confirmation TEXT;
  `,
};
