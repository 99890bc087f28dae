/**
 * The states an instance moves through; the job store holds the current one.
 * received → deidentified → uploading → uploaded; or held (review list: unreadable input, burned-in text risk),
 * failed (with a reason and an attempt count), discarded (by the technologist, from the review list).
 */
export const INSTANCE_STATES = ['received', 'deidentified', 'uploading', 'uploaded', 'held', 'failed', 'discarded'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** A change of one instance's state, as the core announces it (no PHI: research IDs and internal keys only). */
export interface InstanceEvent {
  instanceId: number;
  state: InstanceState;
  researchId?: string;
  researchStudyUid?: string;
  error?: string;
  attempts?: number;
}

export type InstanceCounts = Record<InstanceState, number>;
