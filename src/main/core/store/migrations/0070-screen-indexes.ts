import type { Migration } from '../migrate';

/**
 * Indexes for the Status screen, which asks every few seconds: today's instances by receipt time, and uploads
 * by upload time (the chart and "last upload"), so neither scans a year of instances.
 */
export const migration0070: Migration = {
  version: 70,
  name: 'indexes for the status screen',
  up: `
    CREATE INDEX instances_by_received ON instances (received_at);
    CREATE INDEX instances_by_upload_time ON instances (uploaded_at) WHERE uploaded_at IS NOT NULL;
  `,
};
