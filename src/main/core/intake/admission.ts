import type { GatewaySettings } from '../../../shared/settings';

/** C-STORE failure statuses (PS3.4 Annex B.2.3). */
export const STORE_STATUS = { outOfResources: 0xa700, doesNotMatchSopClass: 0xa900, cannotUnderstand: 0xc000 } as const;

/** Why an instance was refused at intake, with the C-STORE status that says so. */
export class IntakeRefusal extends Error {
  constructor(message: string, readonly status: number, readonly keep: boolean) {
    super(message);
    this.name = 'IntakeRefusal';
  }
}

/** Admission's answer before a C-STORE's data is kept. */
export type Admission = { ok: true } | { ok: false; reason: string };

/** Whether to take the next instance; a check that cannot be made (spool folder gone) refuses it, with why. */
export function checkAdmission(admit: (() => Admission) | undefined): Admission {
  try {
    return admit?.() ?? { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot check the spool: ${(error as Error).message}` };
  }
}

/**
 * The bytes waiting in the spool and outbox, as admission reads them before every C-STORE: the store's sum over
 * the backlog is taken at most every half second, with what was received since added on, so a fast sender cannot
 * pass the cap between two sums (space freed shows up at the next sum, or at once when the cap would refuse).
 */
export function waitingBytesGauge(sum: () => number, maxAgeMs = 500): { read(now?: number): number; refresh(now?: number): number; add(bytes: number): void } {
  let bytes = 0;
  let summedAt = -Infinity;
  const refresh = (now = Date.now()): number => {
    bytes = sum();
    summedAt = now;
    return bytes;
  };
  return {
    read: (now = Date.now()) => (now - summedAt >= maxAgeMs ? refresh(now) : bytes),
    refresh,
    add(received) {
      bytes += received;
    },
  };
}

/** Why intake refuses more data now, or undefined: the spool cap and the free-space floor (settings.limits). */
export function spoolRefusal(limits: GatewaySettings['limits'], pendingBytes: number, freeBytes: number): string | undefined {
  if (pendingBytes >= limits.spoolCapBytes) return `spool full (${Math.round(pendingBytes / 1e6)} MB waiting, cap ${Math.round(limits.spoolCapBytes / 1e6)} MB)`;
  if (freeBytes < limits.minFreeBytes) return `disk nearly full (${Math.round(freeBytes / 1e6)} MB free, floor ${Math.round(limits.minFreeBytes / 1e6)} MB)`;
  return undefined;
}
