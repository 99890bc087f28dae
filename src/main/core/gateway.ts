import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { GatewaySettings } from '../../shared/settings';
import type { DeliveryRecheck, InstanceCounts, InstanceEvent, StudyProgress } from '../../shared/domain';
import type { Logger } from './log';
import { openDatabase, DeferredSync, deriveSealingKey, isSealedFile, readSealedFile, sealFileInPlace, sealedFiles, type GatewayDatabase, type SealingKey } from './store';
import { Crosswalk } from './crosswalk';
import { JobStore } from './jobs';
import { StudyQueries } from './jobs/study-queries';
import { Pipeline, removeOrphanFiles, removeIncompleteWrites, finishQuarantineMoves, type PipelineDeps, type StorageProblem } from './pipeline';
import { startStorageScp, type StorageScpServer } from './intake/storage-scp';
import { FreeSpace, spoolRefusal, waitingBytesGauge } from './intake/admission';
import { isStorageFailure } from './durable';
import type { AuditLog } from './audit';
import { createDoctorAccess, derivedAuditKey, type AuditKeyOption, type DoctorService } from './doctor';
import { checkDestination } from './upload';
import { createScreeningPool, type ScreeningPool } from './screen';

export { spoolRefusal, waitingBytesGauge } from './intake/admission';
import { routeLibraryOutput } from './log';
import { ImportService } from './import';

export interface GatewayOptions {
  settings: GatewaySettings;
  /** Holds the database, the spool and the outbox. */
  dataDir: string;
  /** 64 hex characters; the database is encrypted with it. Supplied by the host (keychain, env, key file). */
  databaseKey: string;
  /**
   * The audit log's HMAC key (64 hex), from the secret store, apart from the database key; `adoptUnkeyedEntries`
   * when it is new. Absent (tests, embedding): a key derived from the database key, which signs but protects
   * nothing against someone who holds the database key.
   */
  auditKey?: AuditKeyOption;
  logger: Logger;
  /** Tests only (a deliberately weakened profile); the hosts never set it, and no setting reaches it. */
  testHooks?: { alterOutput?: PipelineDeps['alterOutputForTest'] };
}

export interface Gateway {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The clear bytes of an original kept here (spool or quarantine, sealed on disk): for the Review list's preview. */
  readOriginal(file: string): Promise<Buffer>;
  /** The DICOM port actually listened on (useful when settings ask for port 0). */
  dicomPort(): number;
  counts(): InstanceCounts;
  /** Releases a held instance (review list) after the technologist looked at it; false if it is not held. */
  releaseHeld(instanceId: number): boolean;
  on(event: 'instance', listener: (e: InstanceEvent) => void): void;
  off(event: 'instance', listener: (e: InstanceEvent) => void): void;
  /** The doctor's unlock, look-up and export of the crosswalk (after start). */
  doctor(): DoctorService;
  /** The tamper-evident audit log; other services append to it (after start). */
  audit(): AuditLog;
  /** Manual resend of failed instances: one, a study's (by research Study Instance UID), or all. Returns how many were queued. */
  resendFailed(scope?: { instanceId?: number; researchStudyUid?: string }): number;
  /** Sends a completed study again from the files retention keeps; `missing` could not be re-sent (files deleted). */
  resendStudy(researchStudyUid: string): { queued: number; missing: number };
  /**
   * Where a study stands: instances per state; received / de-identified / delivered; withheld ones; and when it
   * was completed (every instance received for it delivered).
   */
  studyProgress(researchStudyUid: string): StudyProgress | undefined;
  /**
   * Asks the research server again about delivered instances (one study's, or all): one it no longer holds is
   * queued again from the kept outbox copy or original, or failed with a reason when neither is left.
   */
  recheckDelivery(researchStudyUid?: string): Promise<DeliveryRecheck>;
  /** Makes uploads waiting for a retry (research server was away) due now: a study's, or all. Returns how many. */
  retryNow(researchStudyUid?: string): number;
  /** Discards a held instance from the review list: never uploaded, its file deleted; false if it is not held. */
  discardHeld(instanceId: number): Promise<boolean>;
  /** Discards every data set refused at intake still on the review list; returns how many. */
  discardRefused(): Promise<number>;
  /** Deletes held instances past their retention (done hourly and at start); returns how many. */
  expireHolds(now?: number): Promise<number>;
  /** The disk or database refusing writes, while it lasts (work is paused and retried with a backoff). */
  storageProblem(): StorageProblem | undefined;
  /** The settings in force. */
  settings(): GatewaySettings;
  /**
   * Puts new settings in force without a restart where possible: intake changes restart the DICOM listener
   * (back on the old settings if the new port cannot be opened), destination and de-identification apply to
   * the next instance. Returns what took effect and what needs a restart.
   */
  applySettings(next: GatewaySettings): Promise<{ applied: string[]; needsRestart: string[] }>;
  /** The DICOM listener as the Status screen shows it. */
  intakeStatus(): { listening: boolean; port: number; lastAssociation?: IntakeAssociation };
  /** Stops accepting associations (the tray's "Pause intake"); what was received goes on to the research server. */
  pauseIntake(): Promise<void>;
  /** Listens again, with the settings in force now. */
  resumeIntake(): Promise<void>;
  intakePaused(): boolean;
  /** Read models for the screens (studies, review list, today's counts). */
  queries(): StudyQueries;
  /** Folder / disk / DICOMDIR imports (after start). */
  imports(): ImportService;
}

export interface IntakeAssociation {
  at: string;
  callingAeTitle: string;
  accepted: boolean;
  reason?: string;
}

async function logDestinationCheck(destination: NonNullable<GatewaySettings['destination']>, log: Logger): Promise<void> {
  // The check speaks Orthanc's REST API; DICOMweb and C-STORE destinations show problems at the first upload.
  if (destination.type !== 'orthanc-rest' || !destination.url) return;
  try {
    const check = await checkDestination({ ...destination, url: destination.url });
    for (const warning of check.warnings) log.warn(warning);
    if (check.ok) log.info(`research server check passed: Orthanc ${check.server?.version ?? '?'} accepts uploads from this account`);
    else log.error(`research server check failed: ${check.problem?.message ?? 'unknown problem'} (uploads cannot succeed until this is fixed)`);
  } catch (error) {
    log.error(`research server check could not run: ${(error as Error).message}`);
  }
}

/** Composes the core: one place where the services are built and wired, with every dependency passed in. */
/**
 * Seals originals an earlier version left in clear (spool and quarantine files a job still names). The clear file's
 * blocks are freed, not overwritten: full-disk encryption is what covers those.
 */
async function sealClearOriginals(files: Iterable<string>, dirs: string[], key: SealingKey, logger: Logger): Promise<void> {
  let sealed = 0;
  for (const file of files) {
    if (!dirs.some((dir) => path.dirname(file) === dir) || !fs.existsSync(file) || isSealedFile(file)) continue;
    if (await sealFileInPlace(file, key)) sealed += 1;
  }
  if (sealed > 0) logger.child('recovery').info(`${sealed} original(s) kept in clear by an earlier version are now sealed`);
}

export function createGateway(options: GatewayOptions): Gateway {
  const { dataDir, logger } = options;
  // Before any DICOM is read or written: the libraries' own output would otherwise bypass the redaction.
  routeLibraryOutput(logger);
  // Replaced as a whole by applySettings; every service reads it through () => settings.
  let settings = options.settings;
  const spoolDir = path.join(dataDir, 'spool');
  const outboxDir = path.join(dataDir, 'outbox');
  const quarantineDir = path.join(dataDir, 'quarantine');
  // Originals in the spool and quarantine are sealed with a key derived from the database key: no second secret.
  const sealingKey = deriveSealingKey(options.databaseKey);
  const events = new EventEmitter();
  let db: GatewayDatabase | undefined;
  let scp: StorageScpServer | undefined;
  let pipeline: Pipeline | undefined;
  let screening: ScreeningPool | undefined;
  let jobs: JobStore | undefined;
  let access: { doctor: DoctorService; audit: AuditLog } | undefined;
  let queries: StudyQueries | undefined;
  let lastAssociation: IntakeAssociation | undefined;
  let listen: (() => Promise<StorageScpServer>) | undefined;
  let paused = false;
  let sync: DeferredSync | undefined;
  let holdSweep: NodeJS.Timeout | undefined;
  const freeSpace = new FreeSpace(dataDir);

  /** Held instances past their retention are deleted, and the audit log says how many and why. */
  async function sweepHolds(now?: number): Promise<number> {
    if (!pipeline) return 0;
    try {
      const expired = await pipeline.expireHolds(now);
      if (expired.length) access?.audit.append({ actor: 'system', action: 'review.expire', outcome: 'success', detail: `${expired.length} held instance(s) deleted after their retention: ${expired.join(', ')}` });
      return expired.length;
    } catch (error) {
      logger.child('retention').error('held instances could not be swept', { error: (error as Error).message });
      return 0;
    }
  }
  let imports: ImportService | undefined;

  return {
    async start() {
      for (const dir of [dataDir, spoolDir, outboxDir, quarantineDir]) await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      // Before the database writes anything: a crash during a large receive may have left the disk full of it.
      await removeIncompleteWrites([spoolDir, outboxDir], logger);
      db = openDatabase(path.join(dataDir, 'gateway.db'), options.databaseKey);
      jobs = new JobStore(db);
      // Crash recovery, reads only, so it works on a full disk: finish moves to quarantine, drop files no job names
      // (discarded review entries included), then put interrupted uploads back in the outbox.
      await finishQuarantineMoves(jobs.heldFiles(), spoolDir, logger);
      await removeOrphanFiles([spoolDir, outboxDir, quarantineDir], jobs.filesInUse(), logger);
      await sealClearOriginals(jobs.filesInUse(), [spoolDir, quarantineDir], sealingKey, logger);
      await freeSpace.refresh();
      const crosswalk = new Crosswalk(db, settings.site.code);
      const commits = (sync = new DeferredSync(db));
      access = createDoctorAccess(db, () => settings, logger, options.auditKey ?? { key: derivedAuditKey(options.databaseKey) });
      // Its threads start with the first image to screen, so a gateway that only receives starts no OCR.
      screening = createScreeningPool();
      pipeline = new Pipeline({
        originals: sealedFiles(sealingKey),
        jobs, crosswalk, sync: commits, settings: () => settings, outboxDir, quarantineDir, logger, events, screening,
        alterOutputForTest: options.testHooks?.alterOutput, freeBytes: () => freeSpace.refresh(),
      });
      try {
        const interrupted = jobs.recoverInterruptedUploads();
        if (interrupted) logger.child('recovery').info(`${interrupted} upload(s) cut short by a stop will be sent again`);
      } catch (error) {
        // A disk still full: the gateway starts anyway (Status says why nothing moves), and does this once it can.
        if (!isStorageFailure(error)) throw error;
        pipeline.recoverLater(jobs.uploadingIds());
        logger.child('recovery').warn(`interrupted uploads cannot be put back yet: ${(error as Error).message}`);
      }
      queries = new StudyQueries(db);
      const store = jobs;
      const work = pipeline;
      const pending = waitingBytesGauge(() => store.pendingBytes());
      listen = async () => {
        const server = startStorageScp(
          settings.intake.port,
          {
            sealingKey,
            aeTitle: settings.intake.aeTitle,
            allowedCallingAeTitles: settings.intake.allowedCallingAeTitles,
            spoolDir,
            quarantineDir,
            maxAssociations: settings.limits.maxAssociations,
            maxPduBytes: settings.limits.maxPduBytes,
            idleTimeoutMs: settings.limits.idleTimeoutSeconds * 1000,
            contentLimits: settings.limits,
            acceptDeflated: settings.limits.acceptDeflatedTransferSyntax,
            refusalsPerMinute: settings.quarantine.refusalsPerMinute,
            pduTimeoutMs: settings.limits.pduTimeoutSeconds * 1000,
            minTransferBytesPerSecond: settings.limits.minTransferBytesPerSecond,
            admit() {
              const free = freeSpace.estimate();
              // A refusal is confirmed against a fresh sum: space freed in the last half second counts.
              const refusal = spoolRefusal(settings.limits, pending.read(), free) && spoolRefusal(settings.limits, pending.refresh(), free);
              return refusal ? { ok: false, reason: refusal } : { ok: true };
            },
            // The free-space floor is checked again as the data arrives: one large instance cannot pass it because it
            // started above it. (The spool cap is a backlog limit, checked when an instance starts, as before.)
            checkSpace(_written, bytes) {
              const free = freeSpace.estimate();
              if (free - bytes < settings.limits.minFreeBytes) {
                return `disk nearly full (${Math.round(free / 1e6)} MB free, floor ${Math.round(settings.limits.minFreeBytes / 1e6)} MB) while the instance was arriving`;
              }
              freeSpace.consumed(bytes);
              return undefined;
            },
          },
          {
            onHeld(instance, reason) {
              const id = store.recordHeld(instance, reason);
              pending.add(instance.sizeBytes);
              events.emit('instance', { instanceId: id, state: 'held', error: reason } satisfies InstanceEvent);
            },
            async onStored(instance) {
              let recorded: { id: number; resendOf?: string };
              try {
                recorded = commits.unsynced(() => store.recordReceivedOrResend(instance));
              } catch (error) {
                // Not recorded (a full database answers 0xA700): the file would only fill the disk further.
                await fs.promises.rm(instance.spoolPath, { force: true });
                throw error;
              }
              const { id, resendOf } = recorded;
              if (resendOf) {
                // The sender did not hear the first answer and sent the same bytes again: acknowledged, linked to the
                // first job, and not processed, stored or uploaded a second time.
                await fs.promises.rm(instance.spoolPath, { force: true });
                logger.child('intake').info(`instance ${id} received again with the same bytes (a resend): acknowledged, not processed again`, { state: resendOf });
                await commits.synced();
                return;
              }
              pending.add(instance.sizeBytes);
              events.emit('instance', { instanceId: id, state: 'received' } satisfies InstanceEvent);
              work.wake();
              // The sender is answered (and may delete its copy) only once the record is on disk.
              await commits.synced();
            },
            onAssociation(info) {
              lastAssociation = { at: new Date().toISOString(), ...info };
            },
          },
          logger,
        );
        try {
          await server.listening;
        } catch (error) {
          await server.stop(0);
          throw error;
        }
        return server;
      };
      scp = await listen();
      // Imports enter as a C-STORE does: recorded as received, the pending gauge told, the pipeline woken.
      imports = new ImportService({
        sealingKey, db, jobs, sync: commits, spoolDir, dataDir, settings: () => settings, pendingBytes: () => pending.read(), logger,
        onQueued(instanceId, sizeBytes) {
          pending.add(sizeBytes);
          events.emit('instance', { instanceId, state: 'received' } satisfies InstanceEvent);
          work.wake();
        },
      });
      imports.start();
      // Resume whatever a previous run left: received but not de-identified, or not yet uploaded.
      pipeline.wake();
      await pipeline.sweepRetained();
      await sweepHolds();
      holdSweep = setInterval(() => void sweepHolds(), 3_600_000);
      holdSweep.unref();
      // Told at start-up rather than at the first failed upload; intake works either way, so it does not block.
      if (settings.destination) void logDestinationCheck(settings.destination, logger.child('destination'));
    },
    async stop() {
      clearInterval(holdSweep);
      // Bounded: C-STOREs in progress get 3 s, uploads 3 s and then are aborted (the whole stop stays under 10 s).
      await scp?.stop(3000);
      await imports?.stop();
      await pipeline?.stop();
      await screening?.close();
      await sync?.close();
      db?.close();
      db = undefined;
    },
    dicomPort: () => scp?.port() ?? settings.intake.port,
    readOriginal: (file) => readSealedFile(file, sealingKey),
    counts: () => {
      if (!jobs) throw new Error('Gateway not started');
      return jobs.counts();
    },
    doctor: () => {
      if (!access) throw new Error('Gateway not started');
      return access.doctor;
    },
    audit: () => {
      if (!access) throw new Error('Gateway not started');
      return access.audit;
    },
    releaseHeld: (instanceId) => {
      if (!pipeline) throw new Error('Gateway not started');
      return pipeline.releaseHeld(instanceId);
    },
    resendFailed(scope = {}) {
      if (!jobs) throw new Error('Gateway not started');
      const studyRef = scope.researchStudyUid === undefined ? undefined : jobs.studyRefOf(scope.researchStudyUid);
      if (scope.researchStudyUid !== undefined && studyRef === undefined) return 0;
      const queued = jobs.resendFailed({ instanceId: scope.instanceId, studyRef });
      logger.child('resend').info(`${queued} failed instance(s) queued for upload again`);
      pipeline?.wake();
      return queued;
    },
    resendStudy(researchStudyUid) {
      if (!jobs) throw new Error('Gateway not started');
      const studyRef = jobs.studyRefOf(researchStudyUid);
      if (studyRef === undefined) return { queued: 0, missing: 0 };
      const result = jobs.resendUploadedStudy(studyRef);
      logger.child('resend').info(`study ${studyRef}: ${result.queued} instance(s) queued to send again, ${result.missing} with no file left to send (past retention)`);
      pipeline?.wake();
      return result;
    },
    retryNow(researchStudyUid) {
      if (!jobs) throw new Error('Gateway not started');
      const studyRef = researchStudyUid === undefined ? undefined : jobs.studyRefOf(researchStudyUid);
      if (researchStudyUid !== undefined && studyRef === undefined) return 0;
      const due = jobs.retryNow({ studyRef });
      if (due) logger.child('resend').info(`${due} upload(s) waiting for a retry sent now`);
      pipeline?.wake();
      return due;
    },
    async discardHeld(instanceId) {
      if (!jobs || !queries) throw new Error('Gateway not started');
      const file = queries.instanceFiles(instanceId)?.spoolPath;
      if (!jobs.discardHeld(instanceId)) return false;
      if (file) await fs.promises.rm(file, { force: true });
      logger.child('review').info(`instance ${instanceId} discarded from review by the technologist`);
      events.emit('instance', { instanceId, state: 'discarded' } satisfies InstanceEvent);
      return true;
    },
    async discardRefused() {
      if (!jobs) throw new Error('Gateway not started');
      // Store first, files second: a crash in between leaves files no held row names, removed at the next start.
      const discarded = jobs.discardRefused();
      for (const { file } of discarded) await fs.promises.rm(file, { force: true });
      if (discarded.length) logger.child('review').info(`${discarded.length} data set(s) refused at intake discarded from review by the technologist`);
      for (const { id } of discarded) events.emit('instance', { instanceId: id, state: 'discarded' } satisfies InstanceEvent);
      return discarded.length;
    },
    expireHolds: (now) => sweepHolds(now),
    storageProblem: () => pipeline?.storageProblem(),
    settings: () => settings,
    async applySettings(next) {
      const previous = settings;
      const applied: string[] = [];
      const needsRestart: string[] = [];
      const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
      settings = next;
      const intakeChanged = !same(previous.intake, next.intake) || !same(previous.limits, next.limits) || previous.quarantine.refusalsPerMinute !== next.quarantine.refusalsPerMinute;
      if (scp && listen && intakeChanged) {
        await scp.stop();
        try {
          scp = await listen();
          applied.push(`DICOM listener restarted: AE title ${next.intake.aeTitle}, port ${scp.port()}`);
        } catch (error) {
          // The new port could not be opened: nothing of this change applies, and intake goes on as before.
          settings = previous;
          scp = await listen();
          const e = error as NodeJS.ErrnoException;
          const why = e.code === 'EADDRINUSE' ? `port ${next.intake.port} is in use by another program` : e.message;
          throw new Error(`The DICOM listener could not start on port ${next.intake.port} (${why}): it still listens on port ${scp.port()}`, { cause: error });
        }
      } else if (paused && intakeChanged) {
        applied.push('Intake settings apply when intake is resumed');
      }
      if (!same(previous.destination, next.destination)) {
        applied.push(next.destination ? 'Destination changed: the next uploads go there' : 'Destination removed: de-identified instances wait in the outbox');
        if (next.destination) void logDestinationCheck(next.destination, logger.child('destination'));
      }
      if (!same(previous.deid, next.deid)) applied.push('De-identification options apply to instances de-identified from now on');
      if (!same(previous.retention, next.retention)) applied.push('Retention applies from the next sweep (at most an hour)');
      if (!same(previous.doctor, next.doctor)) applied.push('Doctor session length applies to the next unlock');
      if (previous.site.code !== next.site.code) needsRestart.push('Site code: new research IDs use it after the gateway restarts');
      pipeline?.wake();
      return { applied, needsRestart };
    },
    intakeStatus: () => ({ listening: scp !== undefined, port: scp?.port() ?? settings.intake.port, lastAssociation }),
    async pauseIntake() {
      if (!listen) throw new Error('Gateway not started');
      if (paused) return;
      paused = true;
      await scp?.stop();
      scp = undefined;
      logger.child('intake').info('intake paused: new associations are refused until it is resumed');
    },
    async resumeIntake() {
      if (!listen) throw new Error('Gateway not started');
      if (!paused) return;
      scp = await listen();
      paused = false;
      logger.child('intake').info(`intake resumed on port ${scp.port()}`);
    },
    intakePaused: () => paused,
    imports: () => {
      if (!imports) throw new Error('Gateway not started');
      return imports;
    },
    queries: () => {
      if (!queries) throw new Error('Gateway not started');
      return queries;
    },
    studyProgress(researchStudyUid) {
      if (!jobs) throw new Error('Gateway not started');
      const studyRef = jobs.studyRefOf(researchStudyUid);
      return studyRef === undefined ? undefined : jobs.studyProgress(studyRef);
    },
    async recheckDelivery(researchStudyUid) {
      if (!jobs || !pipeline) throw new Error('Gateway not started');
      const studyRef = researchStudyUid === undefined ? undefined : jobs.studyRefOf(researchStudyUid);
      if (researchStudyUid !== undefined && studyRef === undefined) return { checked: 0, present: 0, unverifiable: 0, requeued: 0, missing: 0, mismatched: 0 };
      return pipeline.recheckDelivery(studyRef);
    },
    on: (event, listener) => void events.on(event, listener),
    off: (event, listener) => void events.off(event, listener),
  };
}
