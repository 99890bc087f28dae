/**
 * The states an instance moves through; the job store holds the current one.
 * received → deidentified → uploading → uploaded (delivered: the research server was seen to hold it after the
 * upload); or held (review list: unreadable input, burned-in text risk, residual identifying data in the output),
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
  /** With state 'uploaded': how the delivery was confirmed ("already present" when a resend found it at the server). */
  delivery?: string;
}

export type InstanceCounts = Record<InstanceState, number>;

/** Where one study stands: instances per state, and the figures a technologist checks (nothing missing, nothing withheld). */
export interface StudyProgress {
  counts: InstanceCounts;
  /** When every instance received for it was delivered (null while one is pending, held or failed). */
  completedAt: string | null;
  /** Instances received for the study (every state). */
  received: number;
  /** Of those, de-identified and past the residual check (waiting, uploading, delivered, or failed at upload). */
  deidentified: number;
  /** Of those, confirmed at the research server. */
  delivered: number;
  /** Held in the review list (burned-in text risk, residual identifying data…): keeps the study incomplete. */
  withheld: number;
  /** Held because the residual check found identifying data in the output: a profile defect. */
  residualPhiHolds: number;
  complete: boolean;
}

/** What a re-check of delivered instances at the research server found (Gateway.recheckDelivery). */
export interface DeliveryRecheck {
  checked: number;
  /** Confirmed: the server still holds them as sent. */
  present: number;
  /** DICOM destinations that answer no C-FIND: nothing to ask. */
  unverifiable: number;
  /** Gone from the server and queued to be sent again from a kept file. */
  requeued: number;
  /** Gone from the server with no file left here: failed, to be sent again from the modality. */
  missing: number;
  /** Held at the server in another form (size, MD5, transfer syntax): failed with the difference. */
  mismatched: number;
}
