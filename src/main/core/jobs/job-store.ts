import type { GatewayDatabase } from '../store';
import type { InstanceCounts, InstanceState } from '../../../shared/domain';

export interface InstanceJob {
  id: number;
  sopInstanceUid: string;
  researchSopInstanceUid: string | null;
  studyRef: number | null;
  state: InstanceState;
  spoolPath: string;
  outboxPath: string | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  /** Set when a technologist released the instance from the review list: it skips the burned-in text check. */
  releasedAt: string | null;
}

interface Row {
  id: number;
  sop_instance_uid: string;
  research_sop_instance_uid: string | null;
  study_ref: number | null;
  state: InstanceState;
  spool_path: string;
  outbox_path: string | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  released_at: string | null;
}

const toJob = (r: Row): InstanceJob => ({
  id: r.id,
  sopInstanceUid: r.sop_instance_uid,
  researchSopInstanceUid: r.research_sop_instance_uid,
  studyRef: r.study_ref,
  state: r.state,
  spoolPath: r.spool_path,
  outboxPath: r.outbox_path,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  releasedAt: r.released_at ?? null,
});

/** The one source of truth for where each received instance is; every change is one statement or transaction. */
export class JobStore {
  private readonly s;

  constructor(private readonly db: GatewayDatabase) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at)
         VALUES (@sopInstanceUid, 'received', @spoolPath, @callingAeTitle, @sizeBytes, @now, @now)`,
      ),
      get: db.prepare<[number], Row>('SELECT * FROM instances WHERE id = ?'),
      nextInState: db.prepare<[InstanceState, number, number], Row>(
        `SELECT * FROM instances WHERE state = ? AND next_attempt_at <= ? AND id > ? ORDER BY id LIMIT 1`,
      ),
      markDeidentified: db.prepare(
        `UPDATE instances SET state = 'deidentified', study_ref = @studyRef, outbox_path = @outboxPath,
           research_sop_instance_uid = @researchSopInstanceUid, attempts = 0, next_attempt_at = 0, last_error = NULL, updated_at = @now
         WHERE id = @id AND state = 'received'`,
      ),
      markUploaded: db.prepare(
        `UPDATE instances SET state = 'uploaded', last_error = NULL, updated_at = @now WHERE id = @id AND state = 'deidentified'`,
      ),
      markRetry: db.prepare(
        `UPDATE instances SET attempts = attempts + 1, next_attempt_at = @nextAttemptAt, last_error = @error, updated_at = @now WHERE id = @id`,
      ),
      markHeld: db.prepare(
        `UPDATE instances SET state = 'held', last_error = @reason, updated_at = @now WHERE id = @id`,
      ),
      releaseHeld: db.prepare(
        `UPDATE instances SET state = 'received', released_at = @now, released_reason = last_error, last_error = NULL,
           attempts = 0, next_attempt_at = 0, updated_at = @now
         WHERE id = @id AND state = 'held'`,
      ),
      markFailed: db.prepare(
        `UPDATE instances SET state = 'failed', attempts = attempts + 1, last_error = @error, updated_at = @now WHERE id = @id`,
      ),
      counts: db.prepare<[], { state: InstanceState; n: number }>('SELECT state, count(*) AS n FROM instances GROUP BY state'),
      earliestRetry: db.prepare<[], { at: number | null }>(
        `SELECT min(next_attempt_at) AS at FROM instances WHERE state = 'deidentified'`,
      ),
      spoolPaths: db.prepare<[], { spool_path: string; outbox_path: string | null }>(
        `SELECT spool_path, outbox_path FROM instances WHERE state NOT IN ('uploaded', 'discarded')`,
      ),
      markKept: db.prepare('UPDATE instances SET spool_kept = @spool, outbox_kept = @outbox WHERE id = @id'),
      keptFiles: db.prepare<[], { id: number; spool_path: string; outbox_path: string | null; spool_kept: number; outbox_kept: number; updated_at: string }>(
        `SELECT id, spool_path, outbox_path, spool_kept, outbox_kept, updated_at FROM instances
         WHERE state = 'uploaded' AND (spool_kept = 1 OR outbox_kept = 1)`,
      ),
    };
  }

  recordReceived(job: { sopInstanceUid: string; spoolPath: string; callingAeTitle: string; sizeBytes: number }): number {
    const result = this.s.insert.run({ ...job, now: new Date().toISOString() });
    return Number(result.lastInsertRowid);
  }

  get(id: number): InstanceJob | undefined {
    const row = this.s.get.get(id);
    return row ? toJob(row) : undefined;
  }

  /** The oldest job in `state` that is due and not already being worked on. */
  nextDue(state: InstanceState, busy: ReadonlySet<number>, now = Date.now()): InstanceJob | undefined {
    let after = 0;
    for (;;) {
      const row = this.s.nextInState.get(state, now, after);
      if (!row) return undefined;
      if (!busy.has(row.id)) return toJob(row);
      after = row.id;
    }
  }

  markDeidentified(id: number, result: { studyRef: number; outboxPath: string; researchSopInstanceUid: string }): void {
    this.s.markDeidentified.run({ id, ...result, now: new Date().toISOString() });
  }

  markUploaded(id: number): void {
    this.s.markUploaded.run({ id, now: new Date().toISOString() });
  }

  markRetry(id: number, error: string, nextAttemptAt: number): void {
    this.s.markRetry.run({ id, error, nextAttemptAt, now: new Date().toISOString() });
  }

  /** Holds an instance back for the review list, with the reason shown to the technologist. */
  markHeld(id: number, reason: string): void {
    this.s.markHeld.run({ id, reason, now: new Date().toISOString() });
  }

  /**
   * Releases a held instance after a technologist looked at it: back to 'received', with the time and the
   * reason it was held recorded. Returns false if the instance is not held.
   */
  releaseHeld(id: number): boolean {
    return this.s.releaseHeld.run({ id, now: new Date().toISOString() }).changes === 1;
  }

  markFailed(id: number, error: string): void {
    this.s.markFailed.run({ id, error, now: new Date().toISOString() });
  }

  counts(): InstanceCounts {
    const counts: InstanceCounts = { received: 0, deidentified: 0, uploading: 0, uploaded: 0, held: 0, failed: 0, discarded: 0 };
    for (const { state, n } of this.s.counts.all()) counts[state] = n;
    return counts;
  }

  /** When the next waiting upload is due, so the uploader can sleep until then. */
  earliestRetryAt(): number | undefined {
    return this.s.earliestRetry.get()?.at ?? undefined;
  }

  /** Files that jobs still need; anything else in the spool or outbox is left over from a crash. */
  filesInUse(): Set<string> {
    const files = new Set<string>();
    for (const r of this.s.spoolPaths.all()) {
      files.add(r.spool_path);
      if (r.outbox_path) files.add(r.outbox_path);
    }
    for (const r of this.s.keptFiles.all()) {
      if (r.spool_kept) files.add(r.spool_path);
      if (r.outbox_kept && r.outbox_path) files.add(r.outbox_path);
    }
    return files;
  }

  /** Records which files of an uploaded instance are still on disk for the retention period. */
  markFilesKept(id: number, kept: { spool: boolean; outbox: boolean }): void {
    this.s.markKept.run({ id, spool: kept.spool ? 1 : 0, outbox: kept.outbox ? 1 : 0 });
  }

  /** Uploaded instances whose spool original or outbox file is still kept, with when they were uploaded. */
  keptFiles(): Array<{ id: number; spoolPath: string | null; outboxPath: string | null; uploadedAt: number }> {
    return this.s.keptFiles.all().map((r) => ({
      id: r.id,
      spoolPath: r.spool_kept ? r.spool_path : null,
      outboxPath: r.outbox_kept ? r.outbox_path : null,
      uploadedAt: Date.parse(r.updated_at),
    }));
  }
}
