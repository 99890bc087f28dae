import { z } from 'zod';

/** An import of a folder, a disk or a DICOMDIR as the Import screen and the CLI show it. */
export interface ImportProgress {
  importId: number;
  /** The folder or DICOMDIR as given (shown on this workstation only). */
  root: string;
  state: 'running' | 'paused' | 'cancelled' | 'done';
  /** Still walking the folder: `found` grows. */
  discovering: boolean;
  /** Files found, DICOMDIR files themselves not counted. */
  found: number;
  /** Found and not yet looked at. */
  waiting: number;
  /** Copied into the spool and recorded: on their way through de-identification to the research server. */
  queued: number;
  /** Skipped: an instance with the same original SOP Instance UID was already delivered. */
  alreadyDelivered: number;
  /** Skipped: the same instance was already received and is on its way (or held, or failed, for the screens that handle those). */
  alreadyReceived: number;
  notDicom: number;
  failed: number;
  /** Bytes copied into the spool by this import. */
  bytesCopied: number;
  /** Over the last seconds; 0 while paused or done. */
  bytesPerSecond: number;
  /** At the current rate, for the files still waiting; null when it cannot be told. */
  secondsLeft: number | null;
  startedAt: string;
  finishedAt?: string;
  /** The latest files that failed, with why (at most 20). */
  problems: Array<{ path: string; reason: string }>;
}

const importId = z.number().int().positive();

export const StartImportInput = z.strictObject({
  path: z.string().trim().min(1, 'Type the folder, disk or DICOMDIR to import').max(4096),
});
export const ImportStatusInput = z.strictObject({ importId: importId.optional() });
export const ImportIdInput = z.strictObject({ importId });
