import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import type { Logger } from '../log';
import { describeTransferSyntax, encodeFileMeta } from '../dicom';

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

const STORAGE_CLASSES = new Set<string>(Object.values(StorageClass) as string[]);
const isStorageClass = (uid: string): boolean => STORAGE_CLASSES.has(uid) || uid.startsWith('1.2.840.10008.5.1.4.1.1.');

export interface IntakeConfig {
  aeTitle: string;
  allowedCallingAeTitles: string[];
  spoolDir: string;
}

export interface SpooledInstance {
  spoolPath: string;
  sopInstanceUid: string;
  sopClassUid: string;
  callingAeTitle: string;
  sizeBytes: number;
}

export interface IntakeHandlers {
  /** Records the spooled instance; success is answered only after this returns. */
  onStored(instance: SpooledInstance): void;
  onAssociation?(info: { callingAeTitle: string; accepted: boolean; reason?: string }): void;
}

/** The outcome of spooling one C-STORE, carried from the stream to cStoreRequest. */
const spoolOutcome = new WeakMap<object, { spooled?: SpooledInstance; error?: Error }>();

/** The spool file of one C-STORE, with what we know of it from the request. */
type SpoolStream = Writable & { file: string; bytes: number; sopInstanceUid: string; sopClassUid: string; failure?: Error };

/** A Writable that appends to a file and fsyncs before it reports 'finish'. */
function durableFileStream(file: string, head: Buffer): SpoolStream {
  const fd = fs.openSync(file, 'w', 0o600);
  let closed = false;
  fs.writeSync(fd, head);
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      fs.write(fd, chunk, 0, chunk.length, null, (error) => {
        if (!error) stream.bytes += chunk.length;
        done(error);
      });
    },
    final(done) {
      fs.fsync(fd, (error) => {
        closed = true;
        fs.close(fd, (closeError) => done(error ?? closeError));
      });
    },
    destroy(error, done) {
      // Runs after final() too (autoDestroy): closing the number twice could close a file someone else opened since.
      if (closed) return done(error);
      closed = true;
      fs.close(fd, () => done(error));
    },
  }) as SpoolStream;
  stream.file = file;
  stream.bytes = head.length;
  return stream;
}

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
  let inFlight = 0;
  const idle: Array<() => void> = [];
  const settle = (): void => {
    inFlight -= 1;
    if (inFlight === 0) idle.splice(0).forEach((resolve) => resolve());
  };

  class StorageScp extends Scp {
    private association?: Association;

    constructor(socket: Socket, opts: Record<string, unknown>) {
      super(socket, opts);
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
      for (const c of association.getPresentationContexts()) {
        const context = association.getPresentationContext(c.id);
        const abstract = context.getAbstractSyntaxUid();
        if (abstract !== SopClass.Verification && !isStorageClass(abstract)) {
          context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          continue;
        }
        // The sender's first proposal that we can read: compressed images pass through as they are.
        const syntax = context.getTransferSyntaxUids().find((ts: string) => describeTransferSyntax(ts) !== undefined);
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
      const file = path.join(config.spoolDir, `${crypto.randomUUID()}.dcm.part`);
      const sopClassUid = request.getAffectedSopClassUid();
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      let stream: SpoolStream;
      try {
        stream = durableFileStream(file, encodeFileMeta(sopClassUid, sopInstanceUid, context.getAcceptedTransferSyntaxUid() ?? ''));
      } catch (error) {
        // Could not even open the spool file: swallow the data, answer failure when it ends.
        stream = new Writable({ write: (_c, _e, done) => done() }) as SpoolStream;
        stream.failure = error as Error;
      }
      stream.sopClassUid = sopClassUid;
      stream.sopInstanceUid = sopInstanceUid;
      return stream;
    }

    override createDatasetFromStoreWritableStream(writable: Writable, context: PresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
      const marker = new Dataset({}, context.getAcceptedTransferSyntaxUid());
      const stream = writable as SpoolStream;
      const finish = (outcome: { spooled?: SpooledInstance; error?: Error }): void => {
        spoolOutcome.set(marker, outcome);
        callback(marker);
      };
      if (stream.failure) return finish({ error: stream.failure });
      const onDone = (error?: Error | null): void => {
        if (error) return finish({ error });
        void (async () => {
          const spoolPath = stream.file.replace(/\.part$/, '');
          await fs.promises.rename(stream.file, spoolPath);
          const spooled: SpooledInstance = {
            spoolPath,
            sopInstanceUid: stream.sopInstanceUid,
            sopClassUid: stream.sopClassUid,
            callingAeTitle: this.association?.getCallingAeTitle().trim() ?? '',
            sizeBytes: stream.bytes,
          };
          handlers.onStored(spooled);
          finish({ spooled });
        })().catch((e: Error) => finish({ error: e }));
      };
      if (writable.writableFinished) onDone();
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
      } else {
        log.error('instance could not be stored', { error: outcome?.error?.message ?? 'no data' });
        response.setStatus(Status.ProcessingFailure);
        response.setErrorComment('Gateway could not store the instance');
      }
      settle();
      callback(response);
    }
  }

  const server = new Server(StorageScp as unknown as typeof Scp);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('networkError', (e: Error) => reject(e));
  });
  server.on('networkError', (e: Error) => log.warn('network error', { error: e.message }));
  server.listen(port);

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
