import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { GatewaySettings } from '../../shared/settings';
import type { DeliveryRecheck, InstanceEvent } from '../../shared/domain';
import type { Logger } from './log';
import type { Crosswalk } from './crosswalk';
import type { DeferredSync } from './store';
import type { JobStore, InstanceJob, DeliveredInstance, HoldDetail } from './jobs';
import { openInstanceFile, encodeInstance, writePieces, stringValue, tagOf, PIXEL_DATA, type DicomDataset, type InstanceFiles, type ParsedInstance } from './dicom';
import { readIdentity, deidentifyDataset, burnedInTextRisk, deidPolicy } from './deid';
import { uploadInstance, confirmDelivery, requestAbort, DestinationUnavailable, type ExpectedInstance } from './upload';
import { checkOutputFile } from './verify';
import { identifyingValuesOf, matchingDeviceRules, regionsOf, type ScreeningPool } from './screen';
import { isStorageFailure } from './durable';

const DEID_CONCURRENCY = 2;
const MAX_BACKOFF_MS = 5 * 60_000;
/** A disk or database that cannot take writes is tried again after 1 s, 2 s … at most this long apart. */
const STORAGE_MAX_BACKOFF_MS = 30_000;
/** While storage fails, free space is looked at this often: space coming back resumes the work at once. */
const FREE_SPACE_POLL_MS = 1000;
/** How long a stop lets uploads in flight finish before it aborts them, and then waits for them to end. */
const STOP_GRACE_MS = 3000;
const STOP_AFTER_ABORT_MS = 2000;

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 5 minutes, each scaled by 0.5–1.0. */
export function retryDelayMs(attempts: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts, 20));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

export interface PipelineDeps {
  /** How originals in the spool and quarantine are read: sealed (store/sealed-file), never in clear. */
  originals: InstanceFiles;
  jobs: JobStore;
  crosswalk: Crosswalk;
  /** Commits of the busy path that do not wait for the disk; an upload waits for them (synced()) first. */
  sync: DeferredSync;
  settings: () => GatewaySettings;
  outboxDir: string;
  /** Where held instances' files go (the review list), out of the spool's way. */
  quarantineDir?: string;
  logger: Logger;
  events: EventEmitter;
  /** Reads every image's pixels for burned-in text before it may leave (settings.screening); absent: not screened. */
  screening?: ScreeningPool;
  /**
   * Tests only: changes the de-identified dataset before it is written, standing in for a defective profile so
   * the residual check can be seen to catch it. No setting reaches it.
   */
  alterOutputForTest?: (output: DicomDataset, original: DicomDataset) => void;
  /** Free bytes on the data folder's disk (asynchronous): watched while storage fails, to resume when space returns. */
  freeBytes?: () => Promise<number>;
}

/** The disk or database refusing writes, as Status shows it: since when, why, and when the work is tried again. */
export interface StorageProblem {
  since: string;
  error: string;
  nextAttemptAt: string;
  attempts: number;
}

/** Why a delivery cannot be repeated from here: no file left to send. */
const NO_COPY_LEFT = 'The research server does not hold this instance and no copy of it is left here (retention): send the study again from the modality or PACS';

/**
 * Moves each job from the spool through de-identification to the outbox, and from the outbox
 * to the research server. The job store decides what is next; this only does the work.
 */
export class Pipeline {
  private readonly deidBusy = new Set<number>();
  private readonly uploadBusy = new Set<number>();
  private readonly running = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly log: Logger;
  /** Ends uploads in flight when a stop has waited long enough. */
  private readonly abort = new AbortController();
  /** Set while the disk or database refuses writes: no new work starts before `retryAt`. */
  private storage: { since: number; error: string; attempts: number; retryAt: number; freeAtFailure?: number } | undefined;
  private storageTimer: NodeJS.Timeout | undefined;
  private freeSpaceWatch: NodeJS.Timeout | undefined;
  /** Jobs whose work failed unexpectedly (not storage): each waits its own backoff, the others go on. */
  private readonly deferred = new Map<number, { until: number; attempts: number }>();
  private deferredTimer: NodeJS.Timeout | undefined;
  /** Uploads that ended without their outcome recorded: put back in the outbox before more work starts. */
  private readonly stranded = new Set<number>();

  constructor(private readonly deps: PipelineDeps) {
    this.log = deps.logger.child('pipeline');
  }

  /** Looks for work now: call after anything that may have created some. */
  wake(): void {
    if (this.stopped) return;
    // The disk or database refused a write: nothing starts before the backoff ends (never a tight retry loop).
    if (this.storage && Date.now() < this.storage.retryAt) return;
    try {
      this.wakeNow();
    } catch (error) {
      // Reading the store failed too (the database cannot be read): the same backoff, not a crash of the caller.
      if (!isStorageFailure(error)) throw error;
      this.storageFailed(error as Error);
    }
  }

  private wakeNow(): void {
    const { jobs } = this.deps;
    if (!this.recoverStranded()) return;
    const deidSkip = this.withDeferred(this.deidBusy);
    while (this.deidBusy.size < DEID_CONCURRENCY) {
      const job = jobs.nextDue('received', deidSkip);
      if (!job) break;
      deidSkip.add(job.id);
      this.track(this.deidBusy, job.id, () => this.deidentify(job));
    }
    const destination = this.deps.settings().destination;
    if (destination) {
      const uploadSkip = this.withDeferred(this.uploadBusy);
      while (this.uploadBusy.size < destination.concurrency) {
        const job = jobs.nextDue('deidentified', uploadSkip);
        if (!job) break;
        uploadSkip.add(job.id);
        this.track(this.uploadBusy, job.id, () => this.upload(job));
      }
      this.scheduleRetry();
    }
    // The backoff ended and nothing waits to be done: the stranded uploads were written back, so the store takes writes.
    if (this.storage && this.running.size === 0) this.storageRecovered();
  }

  /** The disk or database trouble in force, if any (for Status). */
  storageProblem(): StorageProblem | undefined {
    const s = this.storage;
    if (!s) return undefined;
    return { since: new Date(s.since).toISOString(), error: s.error, nextAttemptAt: new Date(s.retryAt).toISOString(), attempts: s.attempts };
  }

  /**
   * Lets work in progress finish for a short grace, then aborts the uploads still in flight (a research server
   * that never answers must not hold the stop): they stay 'uploading', and the next start looks them up at the
   * server before sending again. Starts no more work. Resolves with how many uploads it aborted.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<number> {
    this.stopped = true;
    for (const timer of [this.retryTimer, this.retentionTimer, this.storageTimer, this.deferredTimer]) clearTimeout(timer);
    clearInterval(this.freeSpaceWatch);
    const settled = Promise.allSettled([...this.running]).then(() => true);
    if (await Promise.race([settled, pause(graceMs)])) return 0;
    const aborted = this.uploadBusy.size;
    this.abort.abort();
    this.log.warn(`stop: ${aborted} upload(s) still in flight after ${graceMs / 1000} s aborted; the research server is asked about them at the next start`);
    if (!(await Promise.race([settled, pause(STOP_AFTER_ABORT_MS)]))) this.log.warn('stop: work still running was left to end with the process');
    return aborted;
  }

  private track(busy: Set<number>, id: number, work: () => Promise<void>): void {
    busy.add(id);
    const p = work()
      .then(() => {
        this.deferred.delete(id);
        // Work that got its outcome recorded: the store takes writes again.
        if (this.storage) this.storageRecovered();
      })
      .catch((error: Error) => this.workFailed(busy === this.uploadBusy, id, error))
      .finally(() => {
        busy.delete(id);
        this.running.delete(p);
        this.wake();
      });
    this.running.add(p);
  }

  /** Work that threw instead of recording an outcome: storage trouble pauses everything, anything else this job. */
  private workFailed(wasUpload: boolean, id: number, error: Error): void {
    // An upload may have been marked 'uploading' before it failed: it goes back to the outbox first.
    if (wasUpload) this.stranded.add(id);
    if (this.stopped) return;
    if (isStorageFailure(error)) return this.storageFailed(error);
    const attempts = (this.deferred.get(id)?.attempts ?? 0) + 1;
    const delay = retryDelayMs(attempts - 1);
    this.deferred.set(id, { until: Date.now() + delay, attempts });
    this.log.error('unexpected pipeline error', { instanceId: id, error: error.message, retryInSeconds: Math.round(delay / 1000) });
    clearTimeout(this.deferredTimer);
    const next = Math.min(...[...this.deferred.values()].map((d) => d.until));
    this.deferredTimer = setTimeout(() => this.wake(), Math.max(50, next - Date.now()));
    this.deferredTimer.unref();
  }

  /** `busy` plus the jobs waiting out their own backoff after an unexpected error. */
  private withDeferred(busy: ReadonlySet<number>): Set<number> {
    const skip = new Set(busy);
    const now = Date.now();
    for (const [id, d] of this.deferred) if (d.until > now) skip.add(id);
    return skip;
  }

  /** Puts uploads that ended unrecorded back in the outbox; false when the store cannot take it yet. */
  private recoverStranded(): boolean {
    for (const id of this.stranded) {
      if (this.uploadBusy.has(id)) continue;
      try {
        this.deps.jobs.recoverUpload(id);
        this.stranded.delete(id);
      } catch (error) {
        if (!isStorageFailure(error)) throw error;
        this.storageFailed(error as Error);
        return false;
      }
    }
    return true;
  }

  /** Uploads recorded as in flight that start-up could not put back (the disk was full): done once it can. */
  recoverLater(ids: number[]): void {
    for (const id of ids) this.stranded.add(id);
  }

  /**
   * The disk or database refused a write: all work pauses for 1 s, 2 s, 4 s … (at most 30 s), one log line per
   * step, and free space is watched so the work resumes as soon as space returns. The instance stays where it was.
   */
  private storageFailed(error: Error): void {
    const now = Date.now();
    // Several jobs in flight failing together are one failure, not several steps of the backoff.
    if (this.storage && now < this.storage.retryAt) return;
    const attempts = (this.storage?.attempts ?? 0) + 1;
    const delay = Math.min(STORAGE_MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
    const message = error.message;
    this.storage = { since: this.storage?.since ?? now, error: message, attempts, retryAt: now + delay, freeAtFailure: this.storage?.freeAtFailure };
    this.log.error(`storage refuses writes (${message}): work paused, tried again in ${delay / 1000} s`, { attempts });
    clearTimeout(this.storageTimer);
    this.storageTimer = setTimeout(() => this.wake(), delay);
    this.storageTimer.unref();
    this.watchFreeSpace();
  }

  private watchFreeSpace(): void {
    const freeBytes = this.deps.freeBytes;
    if (!freeBytes || this.freeSpaceWatch || this.stopped) return;
    void freeBytes().then((free) => {
      if (this.storage && this.storage.freeAtFailure === undefined) this.storage.freeAtFailure = free;
    }, () => undefined);
    this.freeSpaceWatch = setInterval(() => {
      void freeBytes().then((free) => {
        const s = this.storage;
        if (!s || s.freeAtFailure === undefined) return;
        // A megabyte more than when it failed: someone made room, try now rather than at the end of the backoff.
        if (free >= s.freeAtFailure + (1 << 20) && Date.now() < s.retryAt) {
          s.retryAt = Date.now();
          s.freeAtFailure = free;
          this.log.info(`free space is back (${Math.round(free / 1e6)} MB): trying again now`);
          this.wake();
        }
      }, () => undefined);
    }, FREE_SPACE_POLL_MS);
    this.freeSpaceWatch.unref();
  }

  private storageRecovered(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = undefined;
    clearTimeout(this.storageTimer);
    clearInterval(this.freeSpaceWatch);
    this.freeSpaceWatch = undefined;
    this.log.info(`storage takes writes again after ${Math.round((Date.now() - s.since) / 1000)} s: work resumed`);
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const at = this.deps.jobs.earliestRetryAt();
    if (at === undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => this.wake(), Math.max(50, at - Date.now()));
    this.retryTimer.unref();
  }

  private emit(event: InstanceEvent): void {
    this.deps.events.emit('instance', event);
  }

  /** The study a held instance belongs to, where its identity can be read, so the study shows it is missing one. */
  private studyRefFor(parsed: ParsedInstance): number | undefined {
    try {
      const identity = readIdentity(parsed);
      return this.deps.crosswalk.linkStudy(this.deps.crosswalk.linkPatient(identity), identity).studyRef;
    } catch {
      return undefined;
    }
  }

  private async deidentify(job: InstanceJob): Promise<void> {
    const { jobs, crosswalk } = this.deps;
    // Named by job, so re-processing after a crash overwrites rather than duplicates.
    const outboxPath = path.join(this.deps.outboxDir, `${job.id}.dcm`);
    let parsed;
    try {
      // The same limits as intake, and the same streaming inflate and sliced parse: it never holds up the port.
      parsed = await openInstanceFile(job.spoolPath, this.deps.settings().limits, this.deps.originals);
    } catch (error) {
      return this.hold(job, `Cannot read the received instance: ${(error as Error).message}`);
    }
    try {
      const deid = this.deps.settings().deid;
      // Text written into the pixels is beyond the profile: held until a technologist has looked and released it.
      const screen = this.screeningApplies(job, parsed.dataset);
      const risk = job.releasedAt
        ? undefined
        : burnedInTextRisk(parsed.dataset, deid.burnedInModalities, {
            allowEncapsulatedDocuments: deid.allowEncapsulatedDocuments,
            screenedWhenYes: screen && this.deps.settings().screening.burnedInAnnotationYes === 'release',
          });
      if (risk) return this.hold(job, risk, { studyRef: this.studyRefFor(parsed) });
      const identity = readIdentity(parsed);
      const dataset = parsed.dataset;
      // One transaction for the links and every new UID (one commit, not one per UID). It need not be on disk yet:
      // nothing leaves before the upload waits for sync.synced(), and the log keeps commits in order.
      const { patient, study, result } = this.deps.sync.unsynced(() => crosswalk.inOneTransaction(() => {
        const patient = crosswalk.linkPatient(identity);
        const study = crosswalk.linkStudy(patient, identity);
        const result = deidentifyDataset(dataset, identity, {
          settings: deid,
          researchId: patient.researchId,
          siteCode: this.deps.settings().site.code,
          researchAccessionNumber: study.researchAccessionNumber,
          researchStudyId: study.researchStudyId,
          mapUid: (uid) => crosswalk.mapUid(uid),
          dateShiftDays: deid.studyDates.keep === 'shift' ? crosswalk.dateShiftDays(patient, deid.studyDates.maxShiftDays) : undefined,
        });
        return { patient, study, result };
      }));
      this.deps.alterOutputForTest?.(result.dataset, parsed.dataset);
      const pieces = encodeInstance({
        dataset: result.dataset,
        syntax: parsed.syntax,
        source: parsed.source,
        sopClassUid: result.sopClassUid,
        sopInstanceUid: result.sopInstanceUid,
      });
      // Pixel data is copied through the parsed source, which unseals it: the spool file's own bytes are ciphertext.
      await writePieces(outboxPath, pieces, undefined, parsed.source);
      // The file as written is what leaves, so that is what is checked; any hit is a defect of the profile.
      const findings = checkOutputFile(outboxPath, parsed.dataset, deid, {
        researchId: patient.researchId,
        researchAccessionNumber: study.researchAccessionNumber,
        researchStudyId: study.researchStudyId,
        siteCode: this.deps.settings().site.code,
      });
      if (findings.length > 0) {
        await fs.promises.rm(outboxPath, { force: true });
        const paths = findings.map((f) => f.path);
        this.log.error(`profile defect: instance ${job.id} still carries identifying data of its original after de-identification`, { attributes: paths });
        return this.hold(job, `Residual identifying data in the de-identified file at ${paths.join(', ')} (a de-identification profile defect; nothing was sent)`, {
          studyRef: study.studyRef,
          residualPaths: paths,
        });
      }
      if (screen) {
        const held = await this.screenPixels(job, outboxPath, parsed);
        if (held) {
          await fs.promises.rm(outboxPath, { force: true });
          return this.hold(job, held, { studyRef: study.studyRef });
        }
      }
      const policy = deidPolicy(deid, this.deps.settings().site.code);
      const outputSizeBytes = (await fs.promises.stat(outboxPath)).size;
      // Lost in a power cut, the instance is de-identified again into the same outbox file: nothing was sent yet.
      this.deps.sync.unsynced(() => jobs.markDeidentified(job.id, {
        studyRef: study.studyRef,
        outboxPath,
        researchSopInstanceUid: result.sopInstanceUid,
        researchSeriesInstanceUid: stringValue(result.dataset, tagOf('SeriesInstanceUID')),
        transferSyntaxUid: parsed.syntax.uid,
        outputSizeBytes,
        policy,
      }));
      this.log.info(`instance ${job.id} de-identified`, { researchId: patient.researchId, researchStudyUid: study.researchStudyUid });
      this.emit({ instanceId: job.id, state: 'deidentified', researchId: patient.researchId, researchStudyUid: study.researchStudyUid });
    } catch (error) {
      // Never a partially de-identified file out: the instance waits in the review list with the reason.
      await fs.promises.rm(outboxPath, { force: true });
      // A full disk or database is not the instance's fault: it stays 'received' and is tried again after the backoff.
      if (isStorageFailure(error)) throw error;
      this.hold(job, `De-identification failed: ${(error as Error).message}`);
    } finally {
      parsed.close();
    }
  }

  /** Whether this instance's pixels are screened for burned-in text: an image, of a screened class, not released by hand. */
  private screeningApplies(job: InstanceJob, original: DicomDataset): boolean {
    const settings = this.deps.settings().screening;
    if (!this.deps.screening || !settings.enabled || job.releasedAt || !original.has(PIXEL_DATA)) return false;
    const sopClass = stringValue(original, tagOf('SOPClassUID')) ?? '';
    return settings.sopClasses.length === 0 || settings.sopClasses.includes(sopClass);
  }

  /**
   * Screens the de-identified file's pixels (they are the original's) against the original's identifying values:
   * identifying text is blacked out in the file and checked again; returns why the instance must be held, if it must.
   */
  private async screenPixels(job: InstanceJob, outboxPath: string, original: ParsedInstance): Promise<string | undefined> {
    const settings = this.deps.settings().screening;
    const rules = matchingDeviceRules(settings.deviceRules, original.dataset, original.syntax.littleEndian);
    if (rules.length > 0) this.log.info(`instance ${job.id}: device rules apply`, { rules: rules.map((r) => r.name) });
    const outcome = await this.deps.screening!.screen({
      file: outboxPath,
      identifying: identifyingValuesOf(original.dataset),
      options: { otherText: settings.otherText, maxFrames: settings.maxFrames },
      alwaysRedact: regionsOf(rules),
    });
    // Counts only: what OCR read may be a name, and the log leaves this computer.
    const lines = { identifying: outcome.found.filter((f) => f.kind === 'identifying').length, other: outcome.found.filter((f) => f.kind === 'other').length };
    if (outcome.result === 'hold') {
      this.log.warn(`instance ${job.id}: burned-in text held for review`, lines);
      return outcome.reason;
    }
    if (outcome.result === 'redacted') this.log.info(`instance ${job.id}: burned-in text blacked out`, { ...lines, regions: outcome.redactions.length });
    return undefined;
  }

  /** What the server must hold for this instance: the UIDs, and the output file's size, MD5 and transfer syntax. */
  private async expectedOf(job: InstanceJob | DeliveredInstance, withMd5: boolean): Promise<ExpectedInstance> {
    const studyUid = 'researchStudyUid' in job ? job.researchStudyUid : job.studyRef === null ? undefined : this.deps.jobs.researchStudyUidOf(job.studyRef);
    const outboxPath = 'outboxPath' in job ? job.outboxPath : null;
    const stat = outboxPath ? await fs.promises.stat(outboxPath).catch(() => undefined) : undefined;
    const md5 = withMd5 && stat && outboxPath ? await md5Of(outboxPath) : (job.outputMd5 ?? undefined);
    return {
      sopInstanceUid: job.researchSopInstanceUid ?? '',
      studyInstanceUid: studyUid ?? '',
      seriesInstanceUid: job.researchSeriesInstanceUid ?? undefined,
      transferSyntaxUid: job.transferSyntaxUid ?? undefined,
      sizeBytes: stat?.size ?? job.outputSizeBytes ?? undefined,
      md5,
      serverInstanceId: job.serverInstanceId ?? undefined,
    };
  }

  private upload(job: InstanceJob): Promise<void> {
    // Every request of this upload ends when a stop aborts it.
    return requestAbort.run(this.abort.signal, () => this.uploadNow(job));
  }

  private async uploadNow(job: InstanceJob): Promise<void> {
    const destination = this.deps.settings().destination;
    if (!destination || !job.outboxPath) return;
    try {
      this.deps.sync.unsynced(() => this.deps.jobs.markUploading(job.id));
      this.emit({ instanceId: job.id, state: 'uploading' });
      // Nothing reaches the research server before its crosswalk links and this job's state are on disk.
      await this.deps.sync.synced();
      // Orthanc exposes the stored file's MD5; the other destinations do not, so it is not computed for them. Before
      // an upload it is needed only to look for an earlier copy; the upload itself hashes what it sends.
      const expected = await this.expectedOf(job, destination.type === 'orthanc-rest' && job.confirmBeforeUpload);
      if (job.confirmBeforeUpload) {
        // A resend, a retry or an upload cut short may already have reached the server: never a second copy.
        const check = await confirmDelivery(destination, { ...expected, serverInstanceId: undefined });
        if (check.status === 'present') {
          return await this.delivered(job, { serverInstanceId: check.serverInstanceId, confirmation: `already present (${check.confirmation})`, md5: expected.md5 });
        }
      }
      if (!fs.existsSync(job.outboxPath)) return this.fail(job, NO_COPY_LEFT);
      const answer = await uploadInstance(destination, job.outboxPath);
      expected.md5 = answer.md5 ?? expected.md5;
      const check = await confirmDelivery(destination, { ...expected, serverInstanceId: answer.serverInstanceId });
      if (check.status === 'missing') {
        return this.fail(job, `Research server answered "${answer.status}" but does not hold the instance when asked (check the research server's storage and filters)`);
      }
      if (check.status === 'mismatch') return this.fail(job, `${check.reason}: ask the research site to delete that copy, then resend`);
      if (check.status === 'unverifiable') this.log.warn(`instance ${job.id}: delivery recorded on the ${check.confirmation}`);
      await this.delivered(job, {
        serverInstanceId: check.status === 'present' ? check.serverInstanceId : answer.serverInstanceId,
        confirmation: check.confirmation,
        md5: expected.md5,
      });
    } catch (error) {
      if (this.abort.signal.aborted) {
        // Left 'uploading': the next start asks the research server whether it arrived before sending it again.
        this.log.warn(`instance ${job.id}: upload aborted by the stop`);
        return;
      }
      // The record of the outcome could not be written: tried again as it is after the storage backoff.
      if (isStorageFailure(error)) throw error;
      if (error instanceof DestinationUnavailable) {
        const delay = retryDelayMs(job.attempts);
        this.deps.jobs.markRetry(job.id, error.message, Date.now() + delay);
        this.log.warn(`instance ${job.id} upload will be retried in ${Math.round(delay / 1000)} s`, { error: error.message });
        this.emit({ instanceId: job.id, state: 'deidentified', error: error.message, attempts: job.attempts + 1 });
        return;
      }
      this.fail(job, (error as Error).message);
    }
  }

  /** The server holds the instance: it is delivered; retention decides which files stay. */
  private async delivered(job: InstanceJob, delivery: { serverInstanceId?: string; confirmation: string; md5?: string }): Promise<void> {
    const { spoolHours, outboxHours } = this.deps.settings().retention;
    const kept = { spool: spoolHours > 0, outbox: outboxHours > 0 };
    const { studyCompleted } = this.deps.jobs.markUploaded(job.id, kept, delivery);
    if (delivery.confirmation.startsWith('already present')) this.log.info(`instance ${job.id} already present at the research server: not uploaded again`, { confirmation: delivery.confirmation });
    else this.log.info(`instance ${job.id} uploaded and confirmed at the research server`, { confirmation: delivery.confirmation });
    this.emit({ instanceId: job.id, state: 'uploaded', delivery: delivery.confirmation });
    if (studyCompleted && job.studyRef !== null) this.log.info(`study ${job.studyRef} complete: every instance delivered`);
    await this.applyRetention(job, kept);
  }

  /**
   * Asks the research server again about every delivered instance (of one study, or all). One it no longer holds
   * goes back in the queue (from the kept outbox copy, or de-identified again from the kept original), or is
   * failed with a reason when neither file is left; one it holds in another form is failed with the difference.
   */
  async recheckDelivery(studyRef?: number): Promise<DeliveryRecheck> {
    const destination = this.deps.settings().destination;
    const result: DeliveryRecheck = { checked: 0, present: 0, unverifiable: 0, requeued: 0, missing: 0, mismatched: 0 };
    if (!destination) return result;
    for (const instance of this.deps.jobs.deliveredInstances(studyRef)) {
      const check = await confirmDelivery(destination, await this.expectedOf(instance, false));
      result.checked += 1;
      if (check.status === 'present') result.present += 1;
      else if (check.status === 'unverifiable') result.unverifiable += 1;
      else if (check.status === 'mismatch') {
        result.mismatched += 1;
        const reason = `${check.reason}: ask the research site to delete that copy, then resend`;
        this.deps.jobs.failDelivered(instance.id, reason);
        this.log.error(`instance ${instance.id} delivery re-check: the research server holds it in another form`, { reason });
        this.emit({ instanceId: instance.id, state: 'failed', error: reason });
      } else {
        const state = this.deps.jobs.requeueMissing(instance.id, NO_COPY_LEFT);
        if (state === 'failed') result.missing += 1;
        else if (state) result.requeued += 1;
        if (state) this.emit({ instanceId: instance.id, state, ...(state === 'failed' ? { error: NO_COPY_LEFT } : {}) });
      }
    }
    this.log.info(`delivery re-check: ${result.present} of ${result.checked} confirmed at the research server, ${result.requeued} missing and queued again, ${result.missing} missing with no copy left, ${result.mismatched} different, ${result.unverifiable} not verifiable`);
    this.wake();
    return result;
  }

  /**
   * After a successful upload: deletes what retention does not keep (the store already says which), and lets
   * sweepRetained() delete the rest when its period ends. The original (with PHI) goes at once by default; the
   * de-identified copy stays a while so a completed study can be re-sent.
   */
  private async applyRetention(job: InstanceJob, kept: { spool: boolean; outbox: boolean }): Promise<void> {
    await Promise.all([
      kept.spool ? undefined : fs.promises.rm(job.spoolPath, { force: true }),
      kept.outbox || !job.outboxPath ? undefined : fs.promises.rm(job.outboxPath, { force: true }),
    ]);
    if (kept.spool || kept.outbox) this.scheduleRetentionSweep();
  }

  /** Deletes kept files whose retention period has ended; returns how many it deleted. */
  async sweepRetained(now = Date.now()): Promise<number> {
    const { spoolHours, outboxHours } = this.deps.settings().retention;
    let removed = 0;
    for (const kept of this.deps.jobs.keptFiles()) {
      const age = now - kept.uploadedAt;
      const spoolDue = kept.spoolPath !== null && age >= spoolHours * 3_600_000;
      const outboxDue = kept.outboxPath !== null && age >= outboxHours * 3_600_000;
      if (!spoolDue && !outboxDue) continue;
      // Store first, files second: a resend may have claimed the files meanwhile (then nothing is deleted), and a
      // crash in between leaves files no job refers to, which the next start removes.
      const released = this.deps.jobs.markFilesKept(kept.id, { spool: kept.spoolPath !== null && !spoolDue, outbox: kept.outboxPath !== null && !outboxDue });
      if (!released) continue;
      if (spoolDue) await fs.promises.rm(kept.spoolPath!, { force: true });
      if (outboxDue) await fs.promises.rm(kept.outboxPath!, { force: true });
      removed += Number(spoolDue) + Number(outboxDue);
    }
    if (removed) this.log.info(`retention: deleted ${removed} file(s) kept after upload`);
    this.scheduleRetentionSweep();
    return removed;
  }

  private scheduleRetentionSweep(): void {
    if (this.stopped || this.retentionTimer) return;
    const kept = this.deps.jobs.keptFiles();
    if (kept.length === 0) return;
    const { spoolHours, outboxHours } = this.deps.settings().retention;
    let dueAt = Infinity;
    for (const k of kept) dueAt = Math.min(dueAt, k.uploadedAt + 3_600_000 * Math.min(k.spoolPath ? spoolHours : Infinity, k.outboxPath ? outboxHours : Infinity));
    // Checked at least hourly, so a shortened retention setting takes effect without a restart.
    const delay = Math.min(3_600_000, Math.max(1_000, dueAt - Date.now()));
    this.retentionTimer = setTimeout(() => {
      this.retentionTimer = undefined;
      this.sweepRetained().catch((error: Error) => this.log.error('retention sweep failed', { error: error.message }));
    }, delay);
    this.retentionTimer.unref();
  }

  /**
   * Discards held instances past their retention (quarantine settings): data sets refused at intake after
   * `refusedDays`, originals waiting for a person after `heldDays`. Store first, file second: a crash in between
   * leaves a file no held row names, which the next start removes. Returns the ids discarded.
   */
  async expireHolds(now = Date.now()): Promise<number[]> {
    const { refusedDays, heldDays } = this.deps.settings().quarantine;
    const day = 86_400_000;
    const expired: number[] = [];
    for (const held of this.deps.jobs.expiredHolds(now - refusedDays * day, now - heldDays * day)) {
      const days = held.refusedAtIntake ? refusedDays : heldDays;
      if (!this.deps.jobs.expireHeld(held.id, `Deleted after ${days} day(s) on the review list (retention)`)) continue;
      await fs.promises.rm(held.file, { force: true });
      expired.push(held.id);
      this.emit({ instanceId: held.id, state: 'discarded' });
    }
    if (expired.length) this.log.info(`retention: ${expired.length} held instance(s) past their time on the review list deleted`);
    return expired;
  }

  /**
   * Releases an instance from the review list after a technologist looked at it: it is de-identified again,
   * this time without the burned-in text check. The release is recorded in the job store and the log.
   * Returns false if the instance is not held.
   */
  releaseHeld(id: number): boolean {
    if (!this.deps.jobs.releaseHeld(id)) return false;
    this.log.info(`instance ${id} released from review by the technologist`);
    this.emit({ instanceId: id, state: 'received' });
    this.wake();
    return true;
  }

  private hold(job: InstanceJob, reason: string, detail: HoldDetail = {}): void {
    const quarantine = this.deps.quarantineDir;
    if (quarantine) {
      // Store first, file second: a crash in between is finished by finishQuarantineMoves (same file name).
      const target = path.join(quarantine, path.basename(job.spoolPath));
      this.deps.jobs.markHeldInQuarantine(job.id, reason, target, detail);
      try {
        fs.renameSync(job.spoolPath, target);
      } catch (error) {
        this.log.warn(`instance ${job.id}: file could not be moved to quarantine`, { error: (error as Error).message });
      }
    } else this.deps.jobs.markHeld(job.id, reason, detail);
    this.log.warn(`instance ${job.id} held for review`, { reason });
    // With its study where known, so a study view can show which study is missing an instance.
    const researchStudyUid = detail.studyRef === undefined ? undefined : this.deps.jobs.researchStudyUidOf(detail.studyRef);
    this.emit({ instanceId: job.id, state: 'held', error: reason, ...(researchStudyUid ? { researchStudyUid } : {}) });
  }

  private fail(job: InstanceJob, reason: string): void {
    this.deps.jobs.markFailed(job.id, reason);
    this.log.error(`instance ${job.id} failed`, { reason });
    this.emit({ instanceId: job.id, state: 'failed', error: reason });
  }
}

/** Completes moves to quarantine cut short by a crash: the store names the quarantine file, the spool still has it. */
export async function finishQuarantineMoves(heldFiles: string[], spoolDir: string, logger: Logger): Promise<number> {
  let moved = 0;
  for (const target of heldFiles) {
    const left = path.join(spoolDir, path.basename(target));
    if (path.dirname(target) === spoolDir || fs.existsSync(target) || !fs.existsSync(left)) continue;
    await fs.promises.rename(left, target);
    moved += 1;
  }
  if (moved) logger.child('recovery').info(`finished moving ${moved} held file(s) to quarantine`);
  return moved;
}

/** Removes spool and outbox files no job refers to: partial receives and writes cut short by a crash. */
export async function removeOrphanFiles(dirs: string[], inUse: Set<string>, logger: Logger): Promise<number> {
  let removed = 0;
  for (const dir of dirs) {
    for (const name of await fs.promises.readdir(dir)) {
      const file = path.join(dir, name);
      if (inUse.has(file)) continue;
      await fs.promises.rm(file, { force: true });
      removed += 1;
    }
  }
  if (removed) logger.child('recovery').info(`removed ${removed} unreferenced file(s) from spool and outbox`);
  return removed;
}

const pause = (ms: number): Promise<false> => new Promise((resolve) => setTimeout(() => resolve(false), ms).unref());

/**
 * Removes what an interrupted write leaves (`.part` spool files, `.tmp` outbox files): no job ever names them, so
 * this needs no database and runs before anything is written to it: on a disk a crash left full, they are what
 * makes room for the database to start.
 */
export async function removeIncompleteWrites(dirs: string[], logger: Logger): Promise<number> {
  let removed = 0;
  for (const dir of dirs) {
    for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.part') && !name.endsWith('.tmp')) continue;
      await fs.promises.rm(path.join(dir, name), { force: true });
      removed += 1;
    }
  }
  if (removed) logger.child('recovery').info(`removed ${removed} file(s) of writes cut short`);
  return removed;
}

/** MD5 of a file, streamed (an instance may be 1 GB): what Orthanc records for the stored attachment. */
function md5Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('md5');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
