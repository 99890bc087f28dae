import type { InstanceCounts } from '../../shared/domain';

/** What the tray icon's colour says at a glance. */
export type TrayState = 'idle' | 'receiving' | 'backlog' | 'error';

export interface TrayInputs {
  counts: InstanceCounts;
  /** When the last instance arrived (ms since epoch), if any since start. */
  lastReceivedAt?: number;
  /** Intake paused from the tray menu. */
  paused: boolean;
  now: number;
}

/** An instance arriving this recently shows the tray as receiving. */
export const RECEIVING_WINDOW_MS = 10_000;

/**
 * The tray's state and tooltip, from the gateway's counts. Failures and held instances need a person, so they
 * win over everything; then recent arrivals; then work still waiting. No PHI: counts only.
 */
export function trayStatus(inputs: TrayInputs): { state: TrayState; tooltip: string } {
  const { counts, paused } = inputs;
  const pending = counts.received + counts.deidentified + counts.uploading;
  const pausedNote = paused ? ' · intake paused' : '';
  if (counts.failed > 0 || counts.held > 0) {
    const parts = [counts.failed > 0 ? `${counts.failed} failed` : '', counts.held > 0 ? `${counts.held} held for review` : ''].filter(Boolean);
    return { state: 'error', tooltip: `De-identification gateway: ${parts.join(', ')}${pausedNote}` };
  }
  if (!paused && inputs.lastReceivedAt !== undefined && inputs.now - inputs.lastReceivedAt < RECEIVING_WINDOW_MS) {
    return { state: 'receiving', tooltip: `De-identification gateway: receiving (${pending} in progress)` };
  }
  if (pending > 0) return { state: 'backlog', tooltip: `De-identification gateway: ${pending} waiting to be sent${pausedNote}` };
  return { state: 'idle', tooltip: `De-identification gateway: all sent${pausedNote}` };
}
