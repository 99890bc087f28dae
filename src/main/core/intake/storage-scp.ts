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
import { durableFileStream, pauseWhileBehind, type SpaceCheck, type SpoolStream } from './spool-file';
import { IntakeRefusal, RefusalBudget, STORE_STATUS, asIntakeFailure, checkAdmission, type Admission } from './admission';

export { STORE_STATUS } from './admission';

const { Scp, Server, Dataset } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass, StorageClass } = dimse.constants;

// dcmjs-dimse logs through loglevel at info by default; its lines could carry dataset contents.
dimse.log.setLevel('silent');

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
  /** An association silent this long (with no C-STORE of it in progress) is aborted. */
  idleTimeoutMs?: number;
  /** What one instance may cost (limits.maxInflatedBytes …); past it, 0xA700 with the reason. */
  contentLimits?: Partial<ParseLimits>;
  /** False: Deflated Explicit VR Little Endian is refused at association (limits.acceptDeflatedTransferSyntax). */
  acceptDeflated?: boolean;
}

const VALID_PDU_TYPES = new Set([1, 2, 3, 4, 5, 6, 7]);
const MAX_CONTROL_PDU = 1 << 20;
const A_ABORT = (reason: number): Buffer => Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 2, reason]);

/**
 * Watches the PDU headers on a socket (independently of dcmjs-dimse, which would buffer any length it is told):
 * an unknown PDU type (garbage on the port) or a PDU larger than announced aborts the association.
 */
function guardPdus(socket: Socket, maxPduBytes: number, onViolation: (why: string, abortReason: number) => void): void {
  const header = Buffer.alloc(6);
  let have = 0;
  let remaining = 0;
  let done = false;
  socket.prependListener('data', (chunk: Buffer) => {
    let at = 0;
    while (!done && at < chunk.length) {
      if (remaining > 0) {
        const n = Math.min(remaining, chunk.length - at);
        remaining -= n;
        at += n;
        continue;
      }
      const n = Math.min(6 - have, chunk.length - at);
      chunk.copy(header, have, at, at + n);
      have += n;
      at += n;
      if (have < 6) break;
      have = 0;
      const type = header[0]!;
      remaining = header.readUInt32BE(2);
      // A-ABORT reasons (PS3.8 9.3.8): 1 unrecognized PDU, 6 invalid PDU parameter value.
      if (!VALID_PDU_TYPES.has(type)) {
        done = true;
        onViolation(`not a DICOM PDU (type 0x${type.toString(16)})`, 1);
      } else if (remaining > (type === 4 ? maxPduBytes : MAX_CONTROL_PDU)) {
        done = true;
        onViolation(`PDU of ${remaining} bytes exceeds the limit of ${type === 4 ? maxPduBytes : MAX_CONTROL_PDU}`, 6);
      }
    }
  });
}

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
  let associations = 0;
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

  class StorageScp extends Scp {
    private association?: Association;
    private storesInProgress = 0;
    /** C-STOREs whose data has started and whose answer is not yet sent: cleaned up if the association drops. */
    private readonly openStores = new Set<SpoolStream>();
    private readonly peer: string;
    private readonly socket: Socket;

    constructor(socket: Socket, opts: Record<string, unknown>) {
      super(socket, opts);
      // Answers are small PDUs a sender waits for before its next C-STORE: send them at once, not after Nagle's delay.
      socket.setNoDelay(true);
      associations += 1;
      this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      this.socket = socket;
      const abort = (why: string, reason: number): void => {
        log.warn('association aborted', { peer: this.peer, reason: why });
        if (!socket.destroyed) socket.end(A_ABORT(reason));
        setTimeout(() => socket.destroy(), 200).unref();
      };
      guardPdus(socket, config.maxPduBytes ?? 16 * 1024 ** 2, abort);
      let idle: NodeJS.Timeout | undefined;
      const idleMs = config.idleTimeoutMs;
      const armIdle = (): void => {
        if (!idleMs) return;
        clearTimeout(idle);
        idle = setTimeout(() => {
          if (this.storesInProgress > 0) return armIdle();
          abort(`idle for ${Math.round(idleMs / 1000)} s`, 0);
        }, idleMs);
        idle.unref();
      };
      armIdle();
      socket.on('data', armIdle);
      socket.once('close', () => {
        clearTimeout(idle);
        associations -= 1;
        // A sender that vanished mid-instance: drop the partial spool file; it was never acknowledged.
        for (const stream of this.openStores) {
          stream.destroy();
          fs.promises.rm(stream.file, { force: true }).catch(() => undefined);
          this.settleStore(stream);
        }
      });
    }

    override associationRequested(association: Association): void {
      this.association = association;
      const called = association.getCalledAeTitle().trim();
      const calling = association.getCallingAeTitle().trim();
      if (called !== config.aeTitle) {
        log.warn('association rejected: called AE title does not match', { called, calling });
        handlers.onAssociation?.({ callingAeTitle: calling, accepted: false, reason: `called AE title ${called} is not ${config.aeTitle}` });
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
        return;
      }
      if (config.allowedCallingAeTitles.length > 0 && !config.allowedCallingAeTitles.includes(calling)) {
        log.warn('association rejected: calling AE title not allowed', { calling });
        handlers.onAssociation?.({ callingAeTitle: calling, accepted: false, reason: `calling AE title ${calling} is not allowed` });
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
        return;
      }
      if (config.maxAssociations && associations > config.maxAssociations) {
        log.warn('association rejected: too many associations at once', { calling, limit: config.maxAssociations });
        handlers.onAssociation?.({ callingAeTitle: calling, accepted: false, reason: 'too many associations at once' });
        this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
        return;
      }
      for (const c of association.getPresentationContexts()) {
        const context = association.getPresentationContext(c.id);
        const abstract = context.getAbstractSyntaxUid();
        if (abstract !== SopClass.Verification && !isStorageClass(abstract)) {
          context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          continue;
        }
        // The sender's first proposal that we can read: compressed images pass through as they are.
        const syntax = context.getTransferSyntaxUids().find((ts: string) => acceptsTransferSyntax(ts, config.acceptDeflated));
        if (syntax) context.setResult(PresentationContextResult.Accept, syntax);
        else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
      log.info('association accepted', { calling });
      handlers.onAssociation?.({ callingAeTitle: calling, accepted: true });
      this.sendAssociationAccept();
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }

    override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponseT) => void): void {
      const response = CEchoResponse.fromRequest(request);
      response.setStatus(Status.Success);
      callback(response);
    }

    override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
      inFlight += 1;
      this.storesInProgress += 1;
      const file = path.join(config.spoolDir, `${crypto.randomUUID()}.dcm.part`);
      const sopClassUid = request.getAffectedSopClassUid();
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      let stream: SpoolStream;
      const admission = admitted(this.association?.getCallingAeTitle().trim() ?? '');
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
        stream = durableFileStream(file, encodeFileMeta(sopClassUid, sopInstanceUid, context.getAcceptedTransferSyntaxUid() ?? ''), config.checkSpace);
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
            callingAeTitle: this.association?.getCallingAeTitle().trim() ?? '',
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
    const refusal = await checkSpooledContent(spoolPath, config.contentLimits);
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

  const server = new Server(StorageScp as unknown as typeof Scp);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('networkError', (e: Error) => reject(e));
  });
  server.on('networkError', (e: Error) => log.warn('network error', { error: e.message }));
  // dcmjs-dimse's own timers stay as a backstop; the idle limit above is the one that acts first.
  server.listen(port, config.idleTimeoutMs ? { associationTimeout: config.idleTimeoutMs * 2, pduTimeout: config.idleTimeoutMs * 2 } : undefined);

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
