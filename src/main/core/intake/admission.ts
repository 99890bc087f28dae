import fs from 'node:fs';
import type { GatewaySettings } from '../../../shared/settings';
import { isOutOfSpace } from '../durable';

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

/** Whether to take the next instance from `callingAeTitle`; a check that cannot be made (spool folder gone) refuses it, with why. */
export function checkAdmission(admit: ((callingAeTitle: string) => Admission) | undefined, callingAeTitle: string): Admission {
  try {
    return admit?.(callingAeTitle) ?? { ok: true };
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

/**
 * A failure after the data arrived (the rename, the job record) as the sender should hear it: the disk or the
 * database being full is out of resources (0xA700, try again later), anything else stays as it was.
 */
export function asIntakeFailure(error: Error): Error {
  if (error instanceof IntakeRefusal || !isOutOfSpace(error)) return error;
  return new IntakeRefusal('Disk full: the gateway cannot store the instance now, try again later', STORE_STATUS.outOfResources, false);
}

/**
 * Free space on the data folder's disk as admission and the spool writer read it many times a second: read with
 * an asynchronous statfs at most every `maxAgeMs` (never a synchronous call on the port's thread), less what the
 * gateway itself wrote since, so a burst cannot pass the floor between two reads. Every `rereadBytes` written it is
 * read again: another program filling the disk meanwhile is seen within that many bytes, not only after `maxAgeMs`.
 */
export class FreeSpace {
  private bytes = Number.POSITIVE_INFINITY;
  private readAt = Number.NEGATIVE_INFINITY;
  private writtenSince = 0;
  private reading: Promise<number> | undefined;

  constructor(private readonly dir: string, private readonly maxAgeMs = 1000, private readonly rereadBytes = 4 * 1024 * 1024) {}

  /** Reads it now (at start-up, and when a refusal should be confirmed); resolves with the free bytes. */
  refresh(): Promise<number> {
    this.reading ??= fs.promises
      .statfs(this.dir)
      .then((stats) => {
        this.bytes = stats.bavail * stats.bsize;
        this.writtenSince = 0;
        this.readAt = Date.now();
        return this.bytes;
      })
      .catch(() => this.estimate())
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** The free bytes as far as known now; starts a fresh read in the background when the last one is old. */
  estimate(now = Date.now()): number {
    if (now - this.readAt >= this.maxAgeMs) void this.refresh();
    return this.bytes - this.writtenSince;
  }

  /** Bytes the gateway has just written: taken off the estimate until the next read. */
  consumed(bytes: number): void {
    const before = this.writtenSince;
    this.writtenSince += bytes;
    if (Math.floor(this.writtenSince / this.rereadBytes) > Math.floor(before / this.rereadBytes)) void this.refresh();
  }
}

/**
 * How many refused data sets one calling AE title may have kept for review: a bucket of `perMinute` that refills
 * over a minute. An empty bucket means its refusals are no longer kept and its next C-STOREs are refused before
 * their data is written (0xA700), so a sender flooding the port with bad data sets fills neither disk nor list.
 */
export class RefusalBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  private bucket(ae: string, now: number): { tokens: number; at: number } {
    const b = this.buckets.get(ae) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) * this.perMinute) / 60_000);
    b.at = now;
    this.buckets.set(ae, b);
    // Forgotten once full again: a long-running gateway does not keep one entry per AE title ever seen.
    if (b.tokens >= this.perMinute) this.buckets.delete(ae);
    return b;
  }

  /** Takes one from `ae`'s bucket for a refused data set to keep; false when it is empty (do not keep it). */
  take(ae: string, now = Date.now()): boolean {
    const b = this.bucket(ae, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    this.buckets.set(ae, b);
    return true;
  }

  /** Seconds until `ae` may send again, or 0 when its bucket is not empty. */
  waitSeconds(ae: string, now = Date.now()): number {
    const b = this.bucket(ae, now);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 60) / this.perMinute);
  }
}
