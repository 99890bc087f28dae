import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import type { Logger } from '../log';
import { type ParseLimits, acceptsTransferSyntax, encodeFileMeta } from '../dicom';
import { checkSpooledContent } from './content-check';
import { syncDirectory } from '../durable';
import { sealedFiles, type SealingKey } from '../store';
import { durableFileStream, pauseWhileBehind, type SpaceCheck, type SpoolStream } from './spool-file';
import { IntakeRefusal, RefusalBudget, STORE_STATUS, asIntakeFailure, checkAdmission, type Admission } from './admission';

export { STORE_STATUS } from './admission';
import { AssociationScp, AssociationSlots, type AssociationPolicy, type Negotiation } from './association';
import type { AssociateRequest, ContextAnswer } from './pdu-guard';

const { Server, Dataset } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass, StorageClass } = dimse.constants;

type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CStoreResponseT = InstanceType<typeof dimse.responses.CStoreResponse>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;
type CEchoResponseT = InstanceType<typeof dimse.responses.CEchoResponse>;

/** The storage SOP classes dcmjs-dimse names; with the rule below, what intake accepts (docs/conformance-statement.md lists them). */
export const STORAGE_CLASSES = new Set<string>(Object.values(StorageClass) as string[]);
export const isStorageClass = (uid: string): boolean => STORAGE_CLASSES.has(uid) || uid.startsWith('1.2.840.10008.5.1.4.1.1.');

export interface IntakeConfig {
  /** Seals every spool file (store/sealed-file): originals are never on disk in clear. */
  sealingKey: SealingKey;
  aeTitle: string;
  allowedCallingAeTitles: string[];
  spoolDir: string;
  /** Where instances refused for their content are kept for the review list; without it they are deleted. */
  quarantineDir?: string;
  /** Asked before each C-STORE's data is kept: a refusal answers 0xA700 (out of resources) with the reason. */
  admit?: (callingAeTitle: string) => Admission;
  /** Asked before each write to a spool file while an instance arrives (the free-space floor): a reason refuses it (0xA700) at once. */
  checkSpace?: SpaceCheck;
  /** Refused data sets kept for review per calling AE title and minute; past it they are not kept (default 20). */
  refusalsPerMinute?: number;
  maxAssociations?: number;
  /** Announced in the association accept and enforced: a bigger PDU aborts the association. */
  maxPduBytes?: number;
  /** Silent this long while the gateway waits on it (between PDUs, or mid-instance), an association is aborted. */
  idleTimeoutMs?: number;
  /** What one instance may cost (limits.maxInflatedBytes …); past it, 0xA700 with the reason. */
  contentLimits?: Partial<ParseLimits>;
  /** False: Deflated Explicit VR Little Endian is refused at association (limits.acceptDeflatedTransferSyntax). */
  acceptDeflated?: boolean;
  /** A PDU begun must be complete within this; a trickle of bytes does not extend it. */
  pduTimeoutMs?: number;
  /** An instance slower than this on average (after its first idle timeout) is aborted. */
  minTransferBytesPerSecond?: number;
}

/** C-STORE refused: the SOP class is not the one of the presentation context it came on (PS3.7 C.4.2). */
const SOP_CLASS_NOT_SUPPORTED = 0x0122;


export interface SpooledInstance {
  spoolPath: string;
  sopInstanceUid: string;
  sopClassUid: string;
  callingAeTitle: string;
  sizeBytes: number;
  /** SHA-256 of the spooled file: a resend of the same bytes is recognised by it. */
  sha256?: string;
}

export interface IntakeHandlers {
  /** Records the spooled instance; success is answered only after this returns (or its promise resolves). */
  onStored(instance: SpooledInstance): void | Promise<void>;
  /** Records an instance refused for its content but kept in quarantine for the review list. */
  onHeld?(instance: SpooledInstance, reason: string): void;
  onAssociation?(info: { callingAeTitle: string; accepted: boolean; reason?: string }): void;
}

/** The outcome of spooling one C-STORE, carried from the stream to cStoreRequest. */
const spoolOutcome = new WeakMap<object, { spooled?: SpooledInstance; error?: Error; stream?: SpoolStream }>();

export interface StorageScpServer {
  /** Resolves once the port accepts associations. */
  listening: Promise<void>;
  port(): number;
  /** Stops accepting, lets C-STOREs in progress finish (up to `graceMs`), then closes every connection. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the DIMSE listener: C-ECHO and C-STORE for every storage SOP class, spooling each instance durably. */
export function startStorageScp(port: number, config: IntakeConfig, handlers: IntakeHandlers, logger: Logger): StorageScpServer {
  const log = logger.child('intake');
  if (config.maxPduBytes) dimse.Implementation.setMaxPduLength(config.maxPduBytes);
  let inFlight = 0;
  const idle: Array<() => void> = [];
  const settle = (): void => {
    inFlight -= 1;
    if (inFlight === 0) idle.splice(0).forEach((resolve) => resolve());
  };

  const refusals = new RefusalBudget(config.refusalsPerMinute ?? 20);
  const admitted = (callingAeTitle: string): Admission => {
    const wait = refusals.waitSeconds(callingAeTitle);
    // A sender whose data sets keep being refused is not let fill the disk with more: it may try again shortly.
    if (wait > 0) return { ok: false, reason: `too many refused data sets from ${callingAeTitle}: try again in ${wait} s` };
    return checkAdmission(config.admit, callingAeTitle);
  };

  class StorageScp extends AssociationScp {
    private storesInProgress = 0;
    /** C-STOREs whose data has started and whose answer is not yet sent: cleaned up if the association drops. */
    private readonly openStores = new Set<SpoolStream>();
    private readonly socket: Socket;

    constructor(socket: Socket, opts: Record<string, unknown>) {
      super(socket, opts);
      // Answers are small PDUs a sender waits for before its next C-STORE: send them at once, not after Nagle's delay.
      socket.setNoDelay(true);
      this.socket = socket;
    }

    private get callingAeTitle(): string {
      return (this as unknown as { association?: Association }).association?.getCallingAeTitle().trim() ?? '';
    }

    protected override onClosed(): void {
      // A sender that vanished mid-instance: drop the partial spool file; it was never acknowledged.
      for (const stream of this.openStores) {
        if (stream.writableEnded) {
          // Its last fragment came: the file is being synced and closed. Destroying it now would close the file
          // number twice (once here, once when the sync ends), and the second close can hit a socket that reused
          // the number (libuv then aborts the process). It finishes, and is dropped then (abandoned).
          stream.abandoned = true;
        } else {
          stream.destroy();
          fs.promises.rm(stream.file, { force: true }).catch(() => undefined);
        }
        this.settleStore(stream);
      }
    }

    /** The AE title checks, the association limit, then an answer for every proposed context. */
    protected negotiate(request: AssociateRequest, slotsFull: boolean): Negotiation {
      const called = request.calledAeTitle;
      const calling = request.callingAeTitle;
      const refuse = (why: string, shown: string, fields: Record<string, unknown>, result: number, source: number, reason: number): Negotiation => {
        // Said in full because the socket stays readable for a moment: whatever the sender sends after this is dropped.
        log.warn(`association rejected: ${why}; any data sent on it is refused and the connection closed`, fields);
        handlers.onAssociation?.({ callingAeTitle: calling, accepted: false, reason: shown });
        return { accept: false, result, source, reason };
      };
      if (called !== config.aeTitle) {
        return refuse('called AE title does not match', `called AE title ${called} is not ${config.aeTitle}`, { called, calling }, RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
      }
      if (config.allowedCallingAeTitles.length > 0 && !config.allowedCallingAeTitles.includes(calling)) {
        return refuse('calling AE title not allowed', `calling AE title ${calling} is not allowed`, { calling }, RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
      }
      if (request.applicationContext !== '1.2.840.10008.3.1.1.1') {
        return refuse('application context not supported', 'application context not supported', { calling }, RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.ApplicationContextNotSupported);
      }
      if (slotsFull) {
        return refuse('too many associations at once', 'too many associations at once', { calling, limit: config.maxAssociations }, RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
      }
      const answers: ContextAnswer[] = request.contexts.map((context) => {
        const abstract = context.abstractSyntax;
        if (abstract !== SopClass.Verification && !isStorageClass(abstract)) return { id: context.id, result: PresentationContextResult.RejectAbstractSyntaxNotSupported };
        // The sender's first proposal that we can read: compressed images pass through as they are.
        const syntax = context.transferSyntaxes.find((ts: string) => acceptsTransferSyntax(ts, config.acceptDeflated));
        if (syntax) return { id: context.id, result: PresentationContextResult.Accept, transferSyntax: syntax };
        return { id: context.id, result: PresentationContextResult.RejectTransferSyntaxesNotSupported };
      });
      log.info('association accepted', { calling });
      handlers.onAssociation?.({ callingAeTitle: calling, accepted: true });
      return { accept: true, answers };
    }

    override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponseT) => void): void {
      try {
        const response = CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      } catch (error) {
        this.abortAssociation(error as Error);
      }
    }

    override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
      inFlight += 1;
      this.storesInProgress += 1;
      const file = path.join(config.spoolDir, `${crypto.randomUUID()}.dcm.part`);
      const sopClassUid = request.getAffectedSopClassUid();
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      let stream: SpoolStream;
      if (context.getAbstractSyntaxUid() !== sopClassUid) {
        // PS3.7 9.1.1: an instance travels on the context negotiated for its SOP class (and that context's syntax).
        stream = new Writable({ write: (_c, _e, done) => done() }) as SpoolStream;
        stream.failure = new IntakeRefusal('SOP class differs from its presentation context', SOP_CLASS_NOT_SUPPORTED, false);
        stream.sopClassUid = sopClassUid;
        stream.sopInstanceUid = sopInstanceUid;
        this.openStores.add(stream);
        return stream;
      }
      const admission = admitted(this.callingAeTitle);
      if (!admission.ok) {
        // Refuse to keep what we may not be able to keep: read and drop the data, answer 0xA700 at the end.
        stream = new Writable({ write: (_c, _e, done) => done() }) as SpoolStream;
        stream.failure = new IntakeRefusal(admission.reason, STORE_STATUS.outOfResources, false);
        stream.sopClassUid = sopClassUid;
        stream.sopInstanceUid = sopInstanceUid;
        this.openStores.add(stream);
        return stream;
      }
      try {
        stream = durableFileStream(file, encodeFileMeta(sopClassUid, sopInstanceUid, context.getAcceptedTransferSyntaxUid() ?? ''), config.sealingKey, config.checkSpace);
        pauseWhileBehind(stream, this.socket);
      } catch (error) {
        // Could not even start the spool file: swallow the data, answer failure when it ends.
        stream = new Writable({ write: (_c, _e, done) => done() }) as SpoolStream;
        stream.failure = error as Error;
      }
      stream.sopClassUid = sopClassUid;
      stream.sopInstanceUid = sopInstanceUid;
      this.openStores.add(stream);
      return stream;
    }

    /** Each C-STORE is counted out once: by its answer, or by the association dropping before it. */
    private settleStore(stream: SpoolStream | undefined): void {
      if (!stream || stream.settled) return;
      stream.settled = true;
      this.openStores.delete(stream);
      this.storesInProgress -= 1;
      settle();
    }

    override createDatasetFromStoreWritableStream(writable: Writable, context: PresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
      const marker = new Dataset({}, context.getAcceptedTransferSyntaxUid());
      const stream = writable as SpoolStream;
      const finish = (outcome: { spooled?: SpooledInstance; error?: Error }): void => {
        spoolOutcome.set(marker, { ...outcome, stream });
        callback(marker);
      };
      if (stream.failure) return finish({ error: stream.failure });
      const onDone = (error?: Error | null): void => {
        if (stream.abandoned) {
          fs.promises.rm(stream.file, { force: true }).catch(() => undefined);
          return finish({ error: new IntakeRefusal('sender left before the instance was answered: not kept', STORE_STATUS.outOfResources, false) });
        }
        if (error) return finish({ error });
        // Once the instance is handed to onStored, its file is the job's (or onStored's to remove), not this cleanup's.
        let handedOver = false;
        void (async () => {
          const spoolPath = stream.file.replace(/\.part$/, '');
          await fs.promises.rename(stream.file, spoolPath);
          await syncDirectory(config.spoolDir);
          const spooled: SpooledInstance = {
            spoolPath,
            sopInstanceUid: stream.sopInstanceUid,
            sopClassUid: stream.sopClassUid,
            callingAeTitle: this.callingAeTitle,
            sizeBytes: stream.bytes,
            sha256: stream.sha256,
          };
          const refusal = await checkContent(spoolPath);
          if (refusal) {
            await setAside(spooled, refusal);
            return finish({ error: refusal });
          }
          handedOver = true;
          await handlers.onStored(spooled);
          finish({ spooled });
        })().catch((e: Error) => {
          // Nothing of an instance that was not acknowledged stays behind (a full disk must not fill up further).
          const left = handedOver ? [stream.file] : [stream.file, stream.file.replace(/\.part$/, '')];
          for (const f of left) fs.promises.rm(f, { force: true }).catch(() => undefined);
          finish({ error: asIntakeFailure(e) });
        });
      };
      if (writable.writableFinished) onDone();
      else if (writable.errored) onDone(writable.errored);
      else {
        writable.once('finish', () => onDone());
        writable.once('error', (e) => onDone(e));
      }
    }

    override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponseT) => void): void {
      try {
        this.answerStore(request, callback);
      } catch (error) {
        this.abortAssociation(error as Error);
      }
    }

    private answerStore(request: CStoreRequest, callback: (response: CStoreResponseT) => void): void {
      const outcome = spoolOutcome.get(request.getDataset() as object);
      const response = CStoreResponse.fromRequest(request);
      if (outcome?.spooled) {
        response.setStatus(Status.Success);
      } else if (outcome?.error instanceof IntakeRefusal) {
        log.warn('instance refused', { peer: this.peer, status: `0x${outcome.error.status.toString(16)}`, reason: outcome.error.message });
        response.setStatus(outcome.error.status);
        response.setErrorComment(outcome.error.message.slice(0, 64));
      } else {
        log.error('instance could not be stored', { error: outcome?.error?.message ?? 'no data' });
        response.setStatus(Status.ProcessingFailure);
        response.setErrorComment('Gateway could not store the instance');
      }
      this.settleStore(outcome?.stream);
      callback(response);
    }
  }

  /** The content check (content-check.ts), as an IntakeRefusal for the C-STORE answer. */
  async function checkContent(spoolPath: string): Promise<IntakeRefusal | undefined> {
    const refusal = await checkSpooledContent(spoolPath, sealedFiles(config.sealingKey), config.contentLimits);
    return refusal && new IntakeRefusal(refusal.message, refusal.status, true);
  }

  /** A refused instance goes to quarantine with a review-list entry (there is data to show), or is deleted. */
  async function setAside(spooled: SpooledInstance, refusal: IntakeRefusal): Promise<void> {
    if (!config.quarantineDir || !handlers.onHeld) {
      await fs.promises.rm(spooled.spoolPath, { force: true });
      return;
    }
    // A flood of bad data sets from one sender: past its budget they are refused without being kept.
    if (!refusals.take(spooled.callingAeTitle)) {
      await fs.promises.rm(spooled.spoolPath, { force: true });
      log.warn('refused data set not kept for review: too many from this calling AE title', { calling: spooled.callingAeTitle });
      return;
    }
    const target = path.join(config.quarantineDir, path.basename(spooled.spoolPath));
    await fs.promises.rename(spooled.spoolPath, target);
    try {
      handlers.onHeld({ ...spooled, spoolPath: target }, `Refused at intake: ${refusal.message}`);
    } catch (error) {
      // Not recorded (the database is full): the file would be an orphan nobody can see, so it goes now.
      await fs.promises.rm(target, { force: true });
      throw error;
    }
  }

  const server = new Server(StorageScp as unknown as typeof dimse.Scp);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('networkError', (e: Error) => reject(e));
  });
  // Each association logs how it ended itself (association.ts); this only repeats it for the record.
  server.on('networkError', (e: Error) => log.debug('network error', { error: e.message }));
  const idleTimeoutMs = config.idleTimeoutMs ?? 60_000;
  const policy: AssociationPolicy = {
    log,
    slots: new AssociationSlots(config.maxAssociations ?? 8),
    maxPduBytes: config.maxPduBytes ?? 256 * 1024,
    idleTimeoutMs,
    pduTimeoutMs: config.pduTimeoutMs ?? idleTimeoutMs,
    minBytesPerSecond: config.minTransferBytesPerSecond ?? 0,
  };
  server.listen(port, { association: policy } as never);

  return {
    listening,
    port: () => ((server as unknown as { server: { address(): { port: number } } }).server.address()?.port ?? port),
    async stop(graceMs = 10_000) {
      const net = (server as unknown as { server?: { close(): void; listening: boolean } }).server;
      if (net?.listening) net.close();
      if (inFlight > 0) await Promise.race([new Promise<void>((r) => idle.push(r)), new Promise((r) => setTimeout(r, graceMs))]);
      server.close();
    },
  };
}
