import type { GatewayDatabase } from '../store';
import type { InstanceCounts, InstanceState, StudyProgress } from '../../../shared/domain';

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
  /** Set by a resend or a crash recovery: the server may already hold it, so look before uploading again. */
  confirmBeforeUpload: boolean;
  /** What delivery is confirmed against: facts of the de-identified file, recorded when it was written. */
  researchSeriesInstanceUid: string | null;
  transferSyntaxUid: string | null;
  outputSizeBytes: number | null;
  outputMd5: string | null;
  serverInstanceId: string | null;
}

/** The output file's facts recorded with the de-identification, and the policy it was made under. */
export interface DeidentifiedOutput {
  studyRef: number;
  outboxPath: string;
  researchSopInstanceUid: string;
  researchSeriesInstanceUid?: string;
  transferSyntaxUid?: string;
  outputSizeBytes?: number;
  policy?: { hash: string; description: unknown };
}

/** How the research server was seen to hold an instance: its ID there and what was compared. */
export interface DeliveryRecord {
  serverInstanceId?: string;
  confirmation: string;
  md5?: string;
}

/** An uploaded instance as a re-check needs it: what to look up at the server, and which files are left. */
export interface DeliveredInstance {
  id: number;
  researchSopInstanceUid: string;
  researchStudyUid: string;
  researchSeriesInstanceUid: string | null;
  transferSyntaxUid: string | null;
  outputSizeBytes: number | null;
  outputMd5: string | null;
  serverInstanceId: string | null;
  outboxKept: boolean;
  spoolKept: boolean;
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
  confirm_before_upload?: number;
  research_series_instance_uid?: string | null;
  transfer_syntax_uid?: string | null;
  output_size_bytes?: number | null;
  output_md5?: string | null;
  server_instance_id?: string | null;
}

interface DeliveredRow {
  id: number;
  research_sop_instance_uid: string;
  research_study_uid: string;
  research_series_instance_uid: string | null;
  transfer_syntax_uid: string | null;
  output_size_bytes: number | null;
  output_md5: string | null;
  server_instance_id: string | null;
  outbox_kept: number;
  spool_kept: number;
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
  confirmBeforeUpload: r.confirm_before_upload === 1,
  researchSeriesInstanceUid: r.research_series_instance_uid ?? null,
  transferSyntaxUid: r.transfer_syntax_uid ?? null,
  outputSizeBytes: r.output_size_bytes ?? null,
  outputMd5: r.output_md5 ?? null,
  serverInstanceId: r.server_instance_id ?? null,
});

/** The one source of truth for where each received instance is; every change is one statement or transaction. */
export class JobStore {
  private readonly s;

  constructor(private readonly db: GatewayDatabase) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, received_sha256, received_at, updated_at)
         VALUES (@sopInstanceUid, 'received', @spoolPath, @callingAeTitle, @sizeBytes, @sha256, @now, @now)`,
      ),
      // The same bytes under the same SOP Instance UID received before (a discarded one does not count: it is gone).
      sameReceived: db.prepare<[{ sopInstanceUid: string; sha256: string; sizeBytes: number }], { id: number; state: InstanceState }>(
        `SELECT id, state FROM instances WHERE sop_instance_uid = @sopInstanceUid AND received_sha256 = @sha256 AND size_bytes = @sizeBytes
           AND state != 'discarded' ORDER BY id DESC LIMIT 1`,
      ),
      countResend: db.prepare(`UPDATE instances SET resends = resends + 1 WHERE id = @id AND state != 'discarded'`),
      get: db.prepare<[number], Row>('SELECT * FROM instances WHERE id = ?'),
      nextInState: db.prepare<[InstanceState, number, number], Row>(
        `SELECT * FROM instances WHERE state = ? AND next_attempt_at <= ? AND id > ? ORDER BY id LIMIT 1`,
      ),
      markDeidentified: db.prepare(
        `UPDATE instances SET state = 'deidentified', study_ref = @studyRef, outbox_path = @outboxPath,
           research_sop_instance_uid = @researchSopInstanceUid, attempts = 0, next_attempt_at = 0, last_error = NULL, updated_at = @now,
           research_series_instance_uid = @researchSeriesInstanceUid, transfer_syntax_uid = @transferSyntaxUid,
           output_size_bytes = @outputSizeBytes, output_md5 = NULL, deid_policy = @policyHash, residual_paths = NULL
         WHERE id = @id AND state = 'received'`,
      ),
      markUploaded: db.prepare(
        `UPDATE instances SET state = 'uploaded', last_error = NULL, uploaded_at = @at, spool_kept = @spoolKept, outbox_kept = @outboxKept,
           updated_at = @now, delivered_at = @now, server_instance_id = @serverInstanceId, delivery_confirmation = @confirmation,
           output_md5 = coalesce(@md5, output_md5), confirm_before_upload = 0
         WHERE id = @id AND state IN ('deidentified', 'uploading')`,
      ),
      // A retry goes back to waiting in the outbox ('deidentified') with its due time; the last try may have arrived, so it looks first.
      markRetry: db.prepare(
        `UPDATE instances SET state = CASE WHEN state = 'uploading' THEN 'deidentified' ELSE state END,
           attempts = attempts + 1, next_attempt_at = @nextAttemptAt, last_error = @error, confirm_before_upload = 1, updated_at = @now WHERE id = @id`,
      ),
      markHeld: db.prepare(
        `UPDATE instances SET state = 'held', last_error = @reason, updated_at = @now, held_at = @at,
           study_ref = coalesce(@studyRef, study_ref), residual_paths = @residualPaths WHERE id = @id`,
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
        `UPDATE instances SET state = 'deidentified', next_attempt_at = 0, confirm_before_upload = 1, updated_at = @now WHERE state = 'uploading'`,
      ),
      insertHeld: db.prepare(
        `INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, last_error, received_at, updated_at, held_at, refused_at_intake)
         VALUES (@sopInstanceUid, 'held', @spoolPath, @callingAeTitle, @sizeBytes, @reason, @now, @now, @at, 1)`,
      ),
      moveToQuarantine: db.prepare(
        `UPDATE instances SET state = 'held', spool_path = @quarantinePath, last_error = @reason, updated_at = @now, held_at = @at,
           study_ref = coalesce(@studyRef, study_ref), residual_paths = @residualPaths WHERE id = @id`,
      ),
      // A failed instance goes back to the outbox if its de-identified copy is there, else to be de-identified again.
      resendFailed: db.prepare(
        `UPDATE instances SET state = CASE WHEN outbox_path IS NOT NULL THEN 'deidentified' ELSE 'received' END,
           attempts = 0, next_attempt_at = 0, last_error = NULL, confirm_before_upload = 1, updated_at = @now
         WHERE state = 'failed' AND (@id IS NULL OR id = @id) AND (@studyRef IS NULL OR study_ref = @studyRef)`,
      ),
      reopenFailedStudies: db.prepare(
        `UPDATE studies SET completed_at = NULL WHERE id IN (SELECT study_ref FROM instances WHERE state = 'failed' AND study_ref IS NOT NULL)`,
      ),
      // From the kept de-identified copy if there is one, else de-identified again from the kept original (same IDs and UIDs).
      resendUploaded: db.prepare(
        `UPDATE instances SET state = CASE WHEN outbox_kept = 1 THEN 'deidentified' ELSE 'received' END,
           spool_kept = 0, outbox_kept = 0, attempts = 0, next_attempt_at = 0, last_error = NULL, uploaded_at = NULL, updated_at = @now,
           confirm_before_upload = 1
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
        `SELECT sum(size_bytes) AS bytes FROM instances WHERE state IN ('received', 'deidentified', 'uploading', 'failed', 'held')`,
      ),
      heldFiles: db.prepare<[], { spool_path: string }>(`SELECT spool_path FROM instances WHERE state = 'held'`),
      insertPolicy: db.prepare(`INSERT OR IGNORE INTO deid_policies (hash, description, first_used_at) VALUES (@hash, @description, @now)`),
      policyOf: db.prepare<[number], { hash: string; description: string }>(
        `SELECT p.hash, p.description FROM instances i JOIN deid_policies p ON p.hash = i.deid_policy WHERE i.id = ?`,
      ),
      studyFigures: db.prepare<[number], { received: number; deidentified: number; delivered: number; withheld: number; residual: number }>(
        `SELECT count(*) AS received,
           coalesce(sum(state IN ('deidentified', 'uploading', 'uploaded') OR (state = 'failed' AND outbox_path IS NOT NULL)), 0) AS deidentified,
           coalesce(sum(state = 'uploaded'), 0) AS delivered,
           coalesce(sum(state = 'held'), 0) AS withheld,
           coalesce(sum(state = 'held' AND residual_paths IS NOT NULL), 0) AS residual
         FROM instances WHERE study_ref = ?`,
      ),
      delivered: db.prepare<[{ studyRef: number | null }], DeliveredRow>(
        `SELECT i.id, i.research_sop_instance_uid, s.research_study_uid, i.research_series_instance_uid, i.transfer_syntax_uid,
           i.output_size_bytes, i.output_md5, i.server_instance_id, i.outbox_kept, i.spool_kept
         FROM instances i JOIN studies s ON s.id = i.study_ref
         WHERE i.state = 'uploaded' AND i.research_sop_instance_uid IS NOT NULL AND (@studyRef IS NULL OR i.study_ref = @studyRef) ORDER BY i.id`,
      ),
      // Back in the queue from what retention kept; with neither file left it cannot be sent from here.
      requeueMissing: db.prepare(
        `UPDATE instances SET state = CASE WHEN outbox_kept = 1 THEN 'deidentified' WHEN spool_kept = 1 THEN 'received' ELSE 'failed' END,
           last_error = CASE WHEN outbox_kept = 1 OR spool_kept = 1 THEN NULL ELSE @reason END,
           spool_kept = 0, outbox_kept = 0, attempts = 0, next_attempt_at = 0, uploaded_at = NULL, delivered_at = NULL,
           server_instance_id = NULL, delivery_confirmation = NULL, confirm_before_upload = 0, updated_at = @now
         WHERE id = @id AND state = 'uploaded'`,
      ),
      researchStudyUid: db.prepare<[number], { research_study_uid: string }>(`SELECT research_study_uid FROM studies WHERE id = ?`),
      failDelivered: db.prepare(
        `UPDATE instances SET state = 'failed', last_error = @reason, delivered_at = NULL, uploaded_at = NULL, updated_at = @now
         WHERE id = @id AND state = 'uploaded'`,
      ),
      stateOf: db.prepare<[number], { state: InstanceState }>(`SELECT state FROM instances WHERE id = ?`),
      reopenStudyOf: db.prepare(`UPDATE studies SET completed_at = NULL WHERE id = (SELECT study_ref FROM instances WHERE id = ?)`),
      discardHeld: db.prepare(`UPDATE instances SET state = 'discarded', updated_at = @now WHERE id = @id AND state = 'held'`),
      // Held past its retention (refused at intake, or waiting for a person): discarded with why.
      expiredHolds: db.prepare<[{ refusedBefore: number; heldBefore: number }], { id: number; spool_path: string; refused_at_intake: number }>(
        `SELECT id, spool_path, refused_at_intake FROM instances WHERE state = 'held' AND held_at IS NOT NULL
           AND held_at <= CASE WHEN refused_at_intake = 1 THEN @refusedBefore ELSE @heldBefore END ORDER BY id`,
      ),
      expireHeld: db.prepare(
        `UPDATE instances SET state = 'discarded', last_error = @reason, updated_at = @now WHERE id = @id AND state = 'held'`,
      ),
      refusedHeld: db.prepare<[], { id: number; spool_path: string }>(`SELECT id, spool_path FROM instances WHERE state = 'held' AND refused_at_intake = 1`),
      discardRefused: db.prepare(`UPDATE instances SET state = 'discarded', updated_at = @now WHERE state = 'held' AND refused_at_intake = 1`),
      // One upload cut short while the pipeline runs (its record could not be written): back in the outbox, looked up first.
      recoverUpload: db.prepare(
        `UPDATE instances SET state = 'deidentified', next_attempt_at = 0, confirm_before_upload = 1, updated_at = @now WHERE id = @id AND state = 'uploading'`,
      ),
      uploadingIds: db.prepare<[], { id: number }>(`SELECT id FROM instances WHERE state = 'uploading'`),
      // Instances waiting for a retry after the research server was away: due now (the technologist knows it is back).
      retryNow: db.prepare(
        `UPDATE instances SET next_attempt_at = 0, updated_at = @now
         WHERE state = 'deidentified' AND attempts > 0 AND (@studyRef IS NULL OR study_ref = @studyRef)`,
      ),
    };
  }

  recordReceived(job: { sopInstanceUid: string; spoolPath: string; callingAeTitle: string; sizeBytes: number; sha256?: string }): number {
    const result = this.s.insert.run({ ...job, sha256: job.sha256 ?? null, now: new Date().toISOString() });
    return Number(result.lastInsertRowid);
  }

  /**
   * Records a received instance, unless the same bytes under the same SOP Instance UID came before (a sender
   * resending after a lost answer): then that job is the one, its resends are counted and no row is added.
   * `resendOf` is set when it was a resend (the caller drops the new spool file).
   */
  recordReceivedOrResend(job: { sopInstanceUid: string; spoolPath: string; callingAeTitle: string; sizeBytes: number; sha256?: string }): { id: number; resendOf?: InstanceState } {
    return this.db.transaction(() => {
      const earlier = job.sha256 ? this.s.sameReceived.get({ sopInstanceUid: job.sopInstanceUid, sha256: job.sha256, sizeBytes: job.sizeBytes }) : undefined;
      if (earlier && this.s.countResend.run({ id: earlier.id }).changes === 1) return { id: earlier.id, resendOf: earlier.state };
      return { id: this.recordReceived(job) };
    })();
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

  markDeidentified(id: number, result: DeidentifiedOutput): void {
    this.db.transaction(() => {
      const now = new Date().toISOString();
      if (result.policy) this.s.insertPolicy.run({ hash: result.policy.hash, description: JSON.stringify(result.policy.description), now });
      this.s.markDeidentified.run({
        id,
        studyRef: result.studyRef,
        outboxPath: result.outboxPath,
        researchSopInstanceUid: result.researchSopInstanceUid,
        researchSeriesInstanceUid: result.researchSeriesInstanceUid ?? null,
        transferSyntaxUid: result.transferSyntaxUid ?? null,
        outputSizeBytes: result.outputSizeBytes ?? null,
        policyHash: result.policy?.hash ?? null,
        now,
      });
      // A late instance of a completed study makes it incomplete again until it is uploaded too.
      this.s.reopenStudy.run(result.studyRef);
    })();
  }

  /** The upload has started; a crash leaves it 'uploading', which the next start puts back in the outbox. */
  markUploading(id: number): void {
    this.s.markUploading.run({ id, now: new Date().toISOString() });
  }

  /**
   * Marks the instance uploaded (delivered: the server was seen to hold it, `delivery` says how), with which of its
   * files retention keeps (the caller deletes the others), and in the same transaction its study complete if
   * nothing else of it is pending.
   */
  markUploaded(id: number, kept: { spool: boolean; outbox: boolean } = { spool: false, outbox: false }, delivery?: DeliveryRecord): { studyCompleted: boolean } {
    return this.db.transaction(() => {
      const now = new Date().toISOString();
      this.s.markUploaded.run({
        id, now, at: Date.now(), spoolKept: kept.spool ? 1 : 0, outboxKept: kept.outbox ? 1 : 0,
        serverInstanceId: delivery?.serverInstanceId ?? null, confirmation: delivery?.confirmation ?? null, md5: delivery?.md5 ?? null,
      });
      return { studyCompleted: this.s.completeStudy.run({ id, now }).changes > 0 };
    })();
  }

  /** After a crash: uploads cut short go back to the outbox (the destination recognises a repeat by its SOP Instance UID). */
  recoverInterruptedUploads(): number {
    return this.s.recoverUploading.run({ now: new Date().toISOString() }).changes;
  }

  /** An instance refused at intake but kept for the review list (its file is already in quarantine). */
  recordHeld(job: { sopInstanceUid: string; spoolPath: string; callingAeTitle: string; sizeBytes: number }, reason: string): number {
    return Number(this.s.insertHeld.run({ ...job, reason, now: new Date().toISOString(), at: Date.now() }).lastInsertRowid);
  }

  /** Holds an instance for review with its file now in quarantine (the caller moves the file after this). */
  markHeldInQuarantine(id: number, reason: string, quarantinePath: string, detail: HoldDetail = {}): void {
    this.db.transaction(() => {
      this.s.moveToQuarantine.run({ id, reason, quarantinePath, ...holdColumns(detail), now: new Date().toISOString(), at: Date.now() });
      // A withheld instance keeps its study incomplete, even one that had completed before it came.
      if (detail.studyRef !== undefined) this.s.reopenStudy.run(detail.studyRef);
    })();
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

  studyProgress(studyRef: number): StudyProgress {
    const counts: InstanceCounts = { received: 0, deidentified: 0, uploading: 0, uploaded: 0, held: 0, failed: 0, discarded: 0 };
    for (const { state, n } of this.s.studyCounts.all(studyRef)) counts[state] = n;
    const completedAt = this.s.studyCompletedAt.get(studyRef)?.completed_at ?? null;
    const f = this.s.studyFigures.get(studyRef) ?? { received: 0, deidentified: 0, delivered: 0, withheld: 0, residual: 0 };
    return {
      counts,
      completedAt,
      received: f.received,
      deidentified: f.deidentified,
      delivered: f.delivered,
      withheld: f.withheld,
      residualPhiHolds: f.residual,
      complete: completedAt !== null && f.delivered + counts.discarded === f.received,
    };
  }

  /** The policy an instance was de-identified under: its hash and full description (profile, options, date rules). */
  policyOf(id: number): { hash: string; description: unknown } | undefined {
    const row = this.s.policyOf.get(id);
    return row ? { hash: row.hash, description: JSON.parse(row.description) as unknown } : undefined;
  }

  /** The research Study Instance UID of a study, by its internal key. */
  researchStudyUidOf(studyRef: number): string | undefined {
    return this.s.researchStudyUid.get(studyRef)?.research_study_uid;
  }

  /** A delivered instance the server holds in another form: failed with the difference, its study incomplete again. */
  failDelivered(id: number, reason: string): void {
    this.db.transaction(() => {
      if (this.s.failDelivered.run({ id, reason, now: new Date().toISOString() }).changes > 0) this.s.reopenStudyOf.run(id);
    })();
  }

  /** Uploaded instances (of one study, or all) with what a re-check at the server compares. */
  deliveredInstances(studyRef?: number): DeliveredInstance[] {
    return this.s.delivered.all({ studyRef: studyRef ?? null }).map((r) => ({
      id: r.id,
      researchSopInstanceUid: r.research_sop_instance_uid,
      researchStudyUid: r.research_study_uid,
      researchSeriesInstanceUid: r.research_series_instance_uid,
      transferSyntaxUid: r.transfer_syntax_uid,
      outputSizeBytes: r.output_size_bytes,
      outputMd5: r.output_md5,
      serverInstanceId: r.server_instance_id,
      outboxKept: r.outbox_kept === 1,
      spoolKept: r.spool_kept === 1,
    }));
  }

  /**
   * An uploaded instance the server no longer holds: back in the queue from the kept outbox copy, else from the kept
   * original (de-identified again, same UIDs), else failed with `reason`. Its study is incomplete again.
   * Returns the state it is now in, or undefined if it was not uploaded.
   */
  requeueMissing(id: number, reason: string): InstanceState | undefined {
    return this.db.transaction(() => {
      if (this.s.requeueMissing.run({ id, reason, now: new Date().toISOString() }).changes === 0) return undefined;
      this.s.reopenStudyOf.run(id);
      return this.s.stateOf.get(id)?.state;
    })();
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
  markHeld(id: number, reason: string, detail: HoldDetail = {}): void {
    this.db.transaction(() => {
      this.s.markHeld.run({ id, reason, ...holdColumns(detail), now: new Date().toISOString(), at: Date.now() });
      if (detail.studyRef !== undefined) this.s.reopenStudy.run(detail.studyRef);
    })();
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

  /**
   * Held instances past their retention: refused at intake before `refusedBefore`, held for a person before
   * `heldBefore` (times in ms), with their files.
   */
  expiredHolds(refusedBefore: number, heldBefore: number): Array<{ id: number; file: string; refusedAtIntake: boolean }> {
    return this.s.expiredHolds.all({ refusedBefore, heldBefore }).map((r) => ({ id: r.id, file: r.spool_path, refusedAtIntake: r.refused_at_intake === 1 }));
  }

  /** Discards a held instance whose retention ended, with the reason; false if it is no longer held. */
  expireHeld(id: number, reason: string): boolean {
    return this.s.expireHeld.run({ id, reason, now: new Date().toISOString() }).changes === 1;
  }

  /** Discards every data set refused at intake still held, at once; returns their ids and files (to delete after). */
  discardRefused(): Array<{ id: number; file: string }> {
    return this.db.transaction(() => {
      const rows = this.s.refusedHeld.all();
      this.s.discardRefused.run({ now: new Date().toISOString() });
      return rows.map((r) => ({ id: r.id, file: r.spool_path }));
    })();
  }

  /** Puts one upload cut short back in the outbox (to be looked up at the server first); false if it is not uploading. */
  recoverUpload(id: number): boolean {
    return this.s.recoverUpload.run({ id, now: new Date().toISOString() }).changes === 1;
  }

  /** Instances recorded as being uploaded. */
  uploadingIds(): number[] {
    return this.s.uploadingIds.all().map((r) => r.id);
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

/** What a hold records besides its reason: the study it belongs to (so the study stays incomplete) and, for a residual-PHI hit, where. */
export interface HoldDetail {
  studyRef?: number;
  residualPaths?: string[];
}

const holdColumns = (d: HoldDetail) => ({ studyRef: d.studyRef ?? null, residualPaths: d.residualPaths ? JSON.stringify(d.residualPaths) : null });
