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
        `UPDATE instances SET state = 'uploaded', last_error = NULL, uploaded_at = @at, spool_kept = @spoolKept, outbox_kept = @outboxKept,
           updated_at = @now
         WHERE id = @id AND state IN ('deidentified', 'uploading')`,
      ),
      // A retry goes back to waiting in the outbox ('deidentified') with its due time.
      markRetry: db.prepare(
        `UPDATE instances SET state = CASE WHEN state = 'uploading' THEN 'deidentified' ELSE state END,
           attempts = attempts + 1, next_attempt_at = @nextAttemptAt, last_error = @error, updated_at = @now WHERE id = @id`,
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
      markKept: db.prepare(`UPDATE instances SET spool_kept = @spool, outbox_kept = @outbox WHERE id = @id AND state = 'uploaded'`),
      keptFiles: db.prepare<[], { id: number; spool_path: string; outbox_path: string | null; spool_kept: number; outbox_kept: number; uploaded_at: number | null; updated_at: string }>(
        `SELECT id, spool_path, outbox_path, spool_kept, outbox_kept, uploaded_at, updated_at FROM instances
         WHERE state = 'uploaded' AND (spool_kept = 1 OR outbox_kept = 1)`,
      ),
      markUploading: db.prepare(
        `UPDATE instances SET state = 'uploading', updated_at = @now WHERE id = @id AND state = 'deidentified'`,
      ),
      reopenStudy: db.prepare(`UPDATE studies SET completed_at = NULL WHERE id = ?`),
      completeStudy: db.prepare(
        `UPDATE studies SET completed_at = @now WHERE id = (SELECT study_ref FROM instances WHERE id = @id) AND completed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.study_ref = studies.id AND i.state NOT IN ('uploaded', 'discarded'))`,
      ),
      recoverUploading: db.prepare(
        `UPDATE instances SET state = 'deidentified', next_attempt_at = 0, updated_at = @now WHERE state = 'uploading'`,
      ),
      insertHeld: db.prepare(
        `INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, last_error, received_at, updated_at)
         VALUES (@sopInstanceUid, 'held', @spoolPath, @callingAeTitle, @sizeBytes, @reason, @now, @now)`,
      ),
      moveToQuarantine: db.prepare(
        `UPDATE instances SET state = 'held', spool_path = @quarantinePath, last_error = @reason, updated_at = @now WHERE id = @id`,
      ),
      // A failed instance goes back to the outbox if its de-identified copy is there, else to be de-identified again.
      resendFailed: db.prepare(
        `UPDATE instances SET state = CASE WHEN outbox_path IS NOT NULL THEN 'deidentified' ELSE 'received' END,
           attempts = 0, next_attempt_at = 0, last_error = NULL, updated_at = @now
         WHERE state = 'failed' AND (@id IS NULL OR id = @id) AND (@studyRef IS NULL OR study_ref = @studyRef)`,
      ),
      reopenFailedStudies: db.prepare(
        `UPDATE studies SET completed_at = NULL WHERE id IN (SELECT study_ref FROM instances WHERE state = 'failed' AND study_ref IS NOT NULL)`,
      ),
      // From the kept de-identified copy if there is one, else de-identified again from the kept original (same IDs and UIDs).
      resendUploaded: db.prepare(
        `UPDATE instances SET state = CASE WHEN outbox_kept = 1 THEN 'deidentified' ELSE 'received' END,
           spool_kept = 0, outbox_kept = 0, attempts = 0, next_attempt_at = 0, last_error = NULL, uploaded_at = NULL, updated_at = @now
         WHERE study_ref = @studyRef AND state = 'uploaded' AND (outbox_kept = 1 OR spool_kept = 1)`,
      ),
      uploadedWithoutCopy: db.prepare<[number], { n: number }>(
        `SELECT count(*) AS n FROM instances WHERE study_ref = ? AND state = 'uploaded' AND outbox_kept = 0 AND spool_kept = 0`,
      ),
      studyOf: db.prepare<[string], { id: number }>(`SELECT id FROM studies WHERE research_study_uid = ?`),
      studyCounts: db.prepare<[number], { state: InstanceState; n: number }>(
        `SELECT state, count(*) AS n FROM instances WHERE study_ref = ? GROUP BY state`,
      ),
      studyCompletedAt: db.prepare<[number], { completed_at: string | null }>(`SELECT completed_at FROM studies WHERE id = ?`),
      failedStudies: db.prepare<[], { study_ref: number }>(
        `SELECT DISTINCT study_ref FROM instances WHERE state = 'failed' AND study_ref IS NOT NULL ORDER BY study_ref`,
      ),
      pendingBytes: db.prepare<[], { bytes: number | null }>(
        `SELECT sum(size_bytes) AS bytes FROM instances WHERE state IN ('received', 'deidentified', 'uploading', 'failed')`,
      ),
      heldFiles: db.prepare<[], { spool_path: string }>(`SELECT spool_path FROM instances WHERE state = 'held'`),
      discardHeld: db.prepare(`UPDATE instances SET state = 'discarded', updated_at = @now WHERE id = @id AND state = 'held'`),
      // Instances waiting for a retry after the research server was away: due now (the technologist knows it is back).
      retryNow: db.prepare(
        `UPDATE instances SET next_attempt_at = 0, updated_at = @now
         WHERE state = 'deidentified' AND attempts > 0 AND (@studyRef IS NULL OR study_ref = @studyRef)`,
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
    this.db.transaction(() => {
      this.s.markDeidentified.run({ id, ...result, now: new Date().toISOString() });
      // A late instance of a completed study makes it incomplete again until it is uploaded too.
      this.s.reopenStudy.run(result.studyRef);
    })();
  }

  /** The upload has started; a crash leaves it 'uploading', which the next start puts back in the outbox. */
  markUploading(id: number): void {
    this.s.markUploading.run({ id, now: new Date().toISOString() });
  }

  /**
   * Marks the instance uploaded, with which of its files retention keeps (the caller deletes the others), and in
   * the same transaction its study complete if nothing else of it is pending.
   */
  markUploaded(id: number, kept: { spool: boolean; outbox: boolean } = { spool: false, outbox: false }): { studyCompleted: boolean } {
    return this.db.transaction(() => {
      const now = new Date().toISOString();
      this.s.markUploaded.run({ id, now, at: Date.now(), spoolKept: kept.spool ? 1 : 0, outboxKept: kept.outbox ? 1 : 0 });
      return { studyCompleted: this.s.completeStudy.run({ id, now }).changes > 0 };
    })();
  }

  /** After a crash: uploads cut short go back to the outbox (the destination recognises a repeat by its SOP Instance UID). */
  recoverInterruptedUploads(): number {
    return this.s.recoverUploading.run({ now: new Date().toISOString() }).changes;
  }

  /** An instance refused at intake but kept for the review list (its file is already in quarantine). */
  recordHeld(job: { sopInstanceUid: string; spoolPath: string; callingAeTitle: string; sizeBytes: number }, reason: string): number {
    return Number(this.s.insertHeld.run({ ...job, reason, now: new Date().toISOString() }).lastInsertRowid);
  }

  /** Holds an instance for review with its file now in quarantine (the caller moves the file after this). */
  markHeldInQuarantine(id: number, reason: string, quarantinePath: string): void {
    this.s.moveToQuarantine.run({ id, reason, quarantinePath, now: new Date().toISOString() });
  }

  /** Resends failed instances: one (`instanceId`), a study's (`studyRef`), or all; returns how many were queued. */
  resendFailed(scope: { instanceId?: number; studyRef?: number } = {}): number {
    return this.db.transaction(() => {
      this.s.reopenFailedStudies.run();
      return this.s.resendFailed.run({ id: scope.instanceId ?? null, studyRef: scope.studyRef ?? null, now: new Date().toISOString() }).changes;
    })();
  }

  /**
   * Sends a completed study again from the files retention still keeps (the de-identified copy, or the original).
   * `missing` counts uploaded instances with neither left: those cannot be re-sent from here.
   */
  resendUploadedStudy(studyRef: number): { queued: number; missing: number } {
    return this.db.transaction(() => {
      const missing = this.s.uploadedWithoutCopy.get(studyRef)?.n ?? 0;
      const queued = this.s.resendUploaded.run({ studyRef, now: new Date().toISOString() }).changes;
      if (queued > 0) this.s.reopenStudy.run(studyRef);
      return { queued, missing };
    })();
  }

  /** The internal key of a study, from the research Study Instance UID shown to the technologist. */
  studyRefOf(researchStudyUid: string): number | undefined {
    return this.s.studyOf.get(researchStudyUid)?.id;
  }

  studyProgress(studyRef: number): { counts: InstanceCounts; completedAt: string | null } {
    const counts: InstanceCounts = { received: 0, deidentified: 0, uploading: 0, uploaded: 0, held: 0, failed: 0, discarded: 0 };
    for (const { state, n } of this.s.studyCounts.all(studyRef)) counts[state] = n;
    return { counts, completedAt: this.s.studyCompletedAt.get(studyRef)?.completed_at ?? null };
  }

  failedStudyRefs(): number[] {
    return this.s.failedStudies.all().map((r) => r.study_ref);
  }

  /** Bytes of received instances not yet uploaded: what the spool holds for them. */
  pendingBytes(): number {
    return this.s.pendingBytes.get()?.bytes ?? 0;
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

  /** Discards a held instance from the review list (it is never uploaded); false if it is not held. */
  discardHeld(id: number): boolean {
    return this.s.discardHeld.run({ id, now: new Date().toISOString() }).changes === 1;
  }

  /** Makes instances waiting for an upload retry due at once, for one study or all; returns how many. */
  retryNow(scope: { studyRef?: number } = {}): number {
    return this.s.retryNow.run({ studyRef: scope.studyRef ?? null, now: new Date().toISOString() }).changes;
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

  /** The files of instances held for review (in quarantine, or still in the spool if a crash cut the move short). */
  heldFiles(): string[] {
    return this.s.heldFiles.all().map((r) => r.spool_path);
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

  /** Records which files of an uploaded instance are still kept; false if it is no longer uploaded (a resend claimed them). */
  markFilesKept(id: number, kept: { spool: boolean; outbox: boolean }): boolean {
    return this.s.markKept.run({ id, spool: kept.spool ? 1 : 0, outbox: kept.outbox ? 1 : 0 }).changes === 1;
  }

  /** Uploaded instances whose spool original or outbox file is still kept, with when they were uploaded. */
  keptFiles(): Array<{ id: number; spoolPath: string | null; outboxPath: string | null; uploadedAt: number }> {
    return this.s.keptFiles.all().map((r) => ({
      id: r.id,
      spoolPath: r.spool_kept ? r.spool_path : null,
      outboxPath: r.outbox_kept ? r.outbox_path : null,
      uploadedAt: r.uploaded_at ?? Date.parse(r.updated_at),
    }));
  }
}
