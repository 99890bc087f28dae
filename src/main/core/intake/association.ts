import type { Socket } from 'node:net';
import dimse from 'dcmjs-dimse';
import type { Logger } from '../log';
import {
  ABORT_REASON,
  COMMAND,
  MAX_COMMAND_BYTES,
  PDU,
  PduReader,
  ProtocolViolation,
  encodeAbort,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeReleaseRp,
  parseAssociateRq,
  readCommand,
  readPdvs,
  type AssociateRequest,
  type ContextAnswer,
  type Pdv,
} from './pdu-guard';

const { Scp } = dimse;
const { PresentationContextResult } = dimse.constants;

type Association = InstanceType<typeof dimse.association.Association>;

/** Associations served at once, counted from the A-ASSOCIATE-AC until the socket is destroyed (not merely ended). */
export class AssociationSlots {
  taken = 0;
  /** Connections that have not associated yet: bounded too, so idle sockets cannot pile up. */
  waiting = 0;
  constructor(readonly limit: number) {}
}

export interface AssociationPolicy {
  log: Logger;
  slots: AssociationSlots;
  /** The largest P-DATA PDU announced and accepted. */
  maxPduBytes: number;
  /** Between PDUs, while the gateway waits on the peer: silent this long, the association is aborted. */
  idleTimeoutMs: number;
  /** A PDU begun must be complete within this (a trickle of bytes does not reset it). */
  pduTimeoutMs: number;
  /** After the first idle timeout of a DIMSE message, it must average at least this rate to go on. */
  minBytesPerSecond: number;
}

export type Negotiation =
  | { accept: true; answers: ContextAnswer[] }
  | { accept: false; result: number; source: number; reason: number };

/** Time after an A-ABORT or A-ASSOCIATE-RJ (or the release answer) for the PDU to leave before the socket is destroyed. */
const CLOSE_GRACE_MS = 200;

/** The message in progress on an association (PS3.7 8.1): a command, then its data set if it has one, on one context. */
interface MessageTracker {
  phase: 'idle' | 'command' | 'dataset';
  contextId: number;
  command: Buffer[];
  commandBytes: number;
  answer: boolean;
  startedAt: number;
  bytes: number;
}

/**
 * The association layer of an SCP, following PS3.8 over dcmjs-dimse's DIMSE handling: this class reads the socket
 * itself (dcmjs-dimse's own reader and timers are not started), answers the association request with the
 * requester's presentation context IDs, refuses anything out of turn, and hands dcmjs-dimse only P-DATA that was
 * checked: on an accepted association, on an accepted context, fragments in order. Every error ends the association
 * (A-ABORT, then the socket is destroyed), is logged, and goes no further.
 */
export abstract class AssociationScp extends Scp {
  private policy!: AssociationPolicy;
  private state: 'awaiting-request' | 'associated' | 'closing' = 'awaiting-request';
  private hasSlot = false;
  private isWaiting = false;
  private reader!: PduReader;
  private queue: Array<{ type: number; body: Buffer }> = [];
  private draining = false;
  private accepted = new Set<number>();
  private awaitingAnswers = 0;
  private idleTimer?: NodeJS.Timeout;
  private pduTimer?: NodeJS.Timeout;
  private message!: MessageTracker;
  private holds = new Set<string>();
  protected readonly peer: string;

  constructor(socket: Socket, opts: Record<string, unknown>) {
    super(socket, opts);
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const policy = opts.association as AssociationPolicy | undefined;
    if (!policy) throw new Error('AssociationScp needs an association policy in its options');
    this.policy = policy;
    this.reader = new PduReader(policy.maxPduBytes);
    this.message = this.freshMessage();
    this.gateSocketFlow(socket);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (error: Error) => this.policy.log.debug('connection error', { peer: this.peer, error: error.message }));
    socket.once('close', () => this.closed());
    const waitingLimit = Math.max(16, policy.slots.limit * 4);
    if (policy.slots.waiting >= waitingLimit) {
      policy.log.warn('connection refused: too many connections waiting to associate', { peer: this.peer, limit: waitingLimit });
      this.state = 'closing';
      socket.destroy();
      return;
    }
    policy.slots.waiting += 1;
    this.isWaiting = true;
    // dcmjs-dimse reports what went wrong inside its DIMSE handling (and in handlers it calls) this way.
    this.on('networkError', (error: Error) => this.abortAssociation(error));
    this.armIdle();
  }

  /** dcmjs-dimse's own socket reader and timers are replaced by this class's (called from its constructor). */
  _wrapSocket(): void {}

  /** Decides on a well-formed association request; `slotsFull` says whether an acceptance would exceed the limit. */
  protected abstract negotiate(request: AssociateRequest, slotsFull: boolean): Negotiation;
  /** Called once the association has ended, however it ended (the socket is gone). */
  protected onClosed(): void {}

  private freshMessage(): MessageTracker {
    return { phase: 'idle', contextId: 0, command: [], commandBytes: 0, answer: false, startedAt: 0, bytes: 0 };
  }

  /**
   * Two parties pause the socket: this class while PDUs wait to be handled, and the spool file while it lags the
   * sender. It flows again only when neither holds it.
   */
  private gateSocketFlow(socket: Socket): void {
    const pause = socket.pause.bind(socket);
    const resume = socket.resume.bind(socket);
    const update = (): void => void (this.holds.size > 0 ? pause() : resume());
    socket.pause = () => {
      this.holds.add('spool');
      update();
      return socket;
    };
    socket.resume = () => {
      this.holds.delete('spool');
      update();
      return socket;
    };
    this.hold = (who: string, on: boolean): void => {
      if (on) this.holds.add(who);
      else this.holds.delete(who);
      update();
    };
  }
  private hold: (who: string, on: boolean) => void = () => undefined;

  /** Read through a method: the state changes behind the compiler's back, in callbacks. */
  private isClosing(): boolean {
    return this.state === 'closing';
  }

  private get socketOf(): Socket {
    return (this as unknown as { socket: Socket }).socket;
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.state === 'closing' || this.awaitingAnswers > 0 || this.reader.inPdu()) return;
    const ms = this.policy.idleTimeoutMs;
    this.idleTimer = setTimeout(() => this.abortAssociation(new ProtocolViolation('idle', `idle for ${Math.round(ms / 1000)} s`, ABORT_REASON.notSpecified)), ms);
    this.idleTimer.unref();
  }

  private received(chunk: Buffer): void {
    if (this.state === 'closing') return;
    const wasInPdu = this.reader.inPdu();
    let pdus: Array<{ type: number; body: Buffer }>;
    try {
      pdus = this.reader.push(chunk);
    } catch (error) {
      return this.abortAssociation(error as Error);
    }
    if (!wasInPdu || pdus.length > 0) {
      // A PDU started (or one ended and maybe the next started): the deadline belongs to the one now arriving.
      clearTimeout(this.pduTimer);
      this.pduTimer = undefined;
      if (this.reader.inPdu()) {
        clearTimeout(this.idleTimer);
        const ms = this.policy.pduTimeoutMs;
        this.pduTimer = setTimeout(() => this.abortAssociation(new ProtocolViolation('pdu-deadline', `PDU not complete within ${Math.round(ms / 1000)} s`, ABORT_REASON.notSpecified)), ms);
        this.pduTimer.unref();
      }
    }
    if (pdus.length === 0) return;
    this.queue.push(...pdus);
    if (this.queue.length > 4) this.hold('queue', true);
    void this.drain();
  }

  /** One PDU at a time, in order: dcmjs-dimse's handling of one may wait for the spool file. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && this.state !== 'closing') {
        const next = this.queue.shift()!;
        await this.handle(next.type, next.body);
        if (!this.isClosing()) this.armIdle();
      }
    } catch (error) {
      this.abortAssociation(error as Error);
    } finally {
      this.draining = false;
      this.hold('queue', false);
    }
  }

  private async handle(type: number, body: Buffer): Promise<void> {
    switch (type) {
      case PDU.associateRq:
        if (this.state !== 'awaiting-request') throw new ProtocolViolation('unexpected-pdu', 'a second association request on one connection', ABORT_REASON.unexpectedPdu);
        return this.associationRequest(parseAssociateRq(body));
      case PDU.pData:
        if (this.state !== 'associated') throw new ProtocolViolation('unexpected-pdu', 'data before an association was accepted', ABORT_REASON.unexpectedPdu);
        return this.pData(body);
      case PDU.releaseRq:
        if (this.state !== 'associated') throw new ProtocolViolation('unexpected-pdu', 'release request without an association', ABORT_REASON.unexpectedPdu);
        this.policy.log.debug('association released', { peer: this.peer });
        this.socketOf.write(encodeReleaseRp());
        return this.close();
      case PDU.abort:
        this.policy.log.info('association aborted by the peer', { peer: this.peer });
        this.state = 'closing';
        this.socketOf.destroy();
        return;
      default:
        // An A-ASSOCIATE-AC/RJ or A-RELEASE-RP: answers to requests an SCP never makes.
        throw new ProtocolViolation('unexpected-pdu', `unexpected PDU type 0x${type.toString(16)}`, ABORT_REASON.unexpectedPdu);
    }
  }

  private associationRequest(request: AssociateRequest): void {
    const slots = this.policy.slots;
    const decision = this.negotiate(request, slots.taken >= slots.limit);
    if (!decision.accept) {
      this.socketOf.write(encodeAssociateRj(decision.result, decision.source, decision.reason));
      // Nothing more is read from a rejected requester: whatever it sends next is dropped with the connection.
      return this.close();
    }
    this.socketOf.write(
      encodeAssociateAc(request, decision.answers, {
        maxPduLength: this.policy.maxPduBytes,
        implementationClassUid: dimse.Implementation.getImplementationClassUid(),
        implementationVersion: dimse.Implementation.getImplementationVersion(),
      }),
    );
    (this as unknown as { association: Association }).association = toDimseAssociation(request, decision.answers, this.policy.maxPduBytes);
    for (const a of decision.answers) if (a.result === PresentationContextResult.Accept) this.accepted.add(a.id);
    slots.taken += 1;
    this.hasSlot = true;
    this.leaveWaiting();
    this.state = 'associated';
  }

  private leaveWaiting(): void {
    if (!this.isWaiting) return;
    this.isWaiting = false;
    this.policy.slots.waiting -= 1;
  }

  private async pData(body: Buffer): Promise<void> {
    const pdvs = readPdvs(body);
    // Checked as a whole before any of it is handed on, so a bad PDV never leaves half a message processed.
    const m = this.message;
    const now = Date.now();
    let answers = 0;
    for (const pdv of pdvs) {
      if (!this.accepted.has(pdv.contextId)) throw new ProtocolViolation('context-not-accepted', `data on presentation context ${pdv.contextId}, which was not accepted`);
      if (m.phase === 'idle') {
        if (!pdv.command) throw new ProtocolViolation('fragment-out-of-order', 'a data set fragment without its command');
        if (this.awaitingAnswers + answers > 0) throw new ProtocolViolation('operation-overlap', 'a new operation before the previous one was answered (one at a time was negotiated)');
        Object.assign(m, this.freshMessage(), { phase: 'command', contextId: pdv.contextId, startedAt: now });
      } else if (pdv.contextId !== m.contextId) {
        throw new ProtocolViolation('fragment-out-of-order', `a fragment on presentation context ${pdv.contextId} inside a message on ${m.contextId}`);
      }
      if (m.phase === 'command') {
        if (!pdv.command) throw new ProtocolViolation('fragment-out-of-order', 'a data set fragment before the command was complete');
        m.commandBytes += pdv.value.length;
        if (m.commandBytes > MAX_COMMAND_BYTES) throw new ProtocolViolation('malformed-command', `command set larger than ${MAX_COMMAND_BYTES} bytes`);
        m.command.push(pdv.value);
        if (pdv.last) {
          const command = readCommand(Buffer.concat(m.command));
          m.answer = command.commandField !== COMMAND.cCancelRq;
          m.command = [];
          if (command.hasDataset) m.phase = 'dataset';
          else {
            if (m.answer) answers += 1;
            m.phase = 'idle';
          }
        }
      } else {
        if (pdv.command) throw new ProtocolViolation('fragment-out-of-order', 'a command fragment inside a data set');
        m.bytes += pdv.value.length;
        if (pdv.last) {
          if (m.answer) answers += 1;
          m.phase = 'idle';
        }
      }
    }
    if (m.phase !== 'idle') this.checkRate(m, now);
    this.awaitingAnswers += answers;
    await (this as unknown as DimseInternals)._processPDataTf(asDimsePData(pdvs));
  }

  /** A message must keep up the minimum rate once its first idle timeout has passed. */
  private checkRate(m: MessageTracker, now: number): void {
    const grace = this.policy.idleTimeoutMs;
    const elapsed = now - m.startedAt;
    if (elapsed <= grace) return;
    const due = (this.policy.minBytesPerSecond * (elapsed - grace)) / 1000;
    if (m.bytes < due) {
      throw new ProtocolViolation('too-slow', `instance arriving at ${Math.round(m.bytes / (elapsed / 1000))} bytes/s, below the minimum of ${this.policy.minBytesPerSecond}`, ABORT_REASON.notSpecified);
    }
  }

  /** dcmjs-dimse sends every answer through here: one operation answered, the wait on the peer starts again. */
  _sendDimse(message: unknown): void {
    if (this.state === 'closing') return;
    try {
      (Scp.prototype as unknown as DimseInternals)._sendDimse.call(this, message);
    } finally {
      if (this.awaitingAnswers > 0) this.awaitingAnswers -= 1;
      this.armIdle();
    }
  }

  /** Ends the association with an A-ABORT: a ProtocolViolation is the peer's doing, anything else a fault of ours. */
  protected abortAssociation(error: Error): void {
    if (this.state === 'closing') return;
    if (error instanceof ProtocolViolation) {
      this.policy.log.warn('association aborted', { peer: this.peer, code: error.code, reason: error.message });
    } else {
      this.policy.log.error('association aborted after an internal error', { peer: this.peer, code: 'internal-error', error: error.message });
    }
    const reason = error instanceof ProtocolViolation ? error.abortReason : ABORT_REASON.notSpecified;
    if (!this.socketOf.destroyed) this.socketOf.write(encodeAbort(reason));
    this.close();
  }

  /** Half-closes after the last PDU and destroys the socket after a short grace, whatever the peer does. */
  private close(): void {
    this.state = 'closing';
    clearTimeout(this.idleTimer);
    clearTimeout(this.pduTimer);
    this.queue.length = 0;
    const socket = this.socketOf;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private closed(): void {
    this.state = 'closing';
    clearTimeout(this.idleTimer);
    clearTimeout(this.pduTimer);
    (this as unknown as { connected: boolean }).connected = false;
    this.leaveWaiting();
    if (this.hasSlot) {
      this.hasSlot = false;
      this.policy.slots.taken -= 1;
    }
    try {
      this.onClosed();
    } catch (error) {
      this.policy.log.error('cleanup after an association failed', { peer: this.peer, error: (error as Error).message });
    }
    (this as unknown as { emit(event: string): void }).emit('close');
  }
}

/** The parts of dcmjs-dimse's Network used here that its type declarations leave out. */
interface DimseInternals {
  _processPDataTf(pData: { getPdvs(): unknown[] }): Promise<void>;
  _sendDimse(message: unknown): void;
}

/** The checked PDVs in the shape dcmjs-dimse's P-DATA handler reads. */
function asDimsePData(pdvs: Pdv[]): { getPdvs(): unknown[] } {
  const wrapped = pdvs.map((p) => ({
    getPresentationContextId: () => p.contextId,
    getValue: () => p.value,
    isLastFragment: () => p.last,
    isCommand: () => p.command,
  }));
  return { getPdvs: () => wrapped };
}

/** dcmjs-dimse's Association for the DIMSE layer, with every context under the ID the requester gave it. */
function toDimseAssociation(request: AssociateRequest, answers: ContextAnswer[], maxPduBytes: number): Association {
  const association = new dimse.association.Association(request.callingAeTitle, request.calledAeTitle);
  // Its own addPresentationContext renumbers an ID that is not above the ones before; the list is filled directly.
  const list = association.getPresentationContexts() as unknown as Array<{ id: number; context: unknown }>;
  for (const answer of answers) {
    const proposed = request.contexts.find((c) => c.id === answer.id)!;
    const context = new dimse.association.PresentationContext(answer.id, proposed.abstractSyntax, answer.transferSyntax ?? proposed.transferSyntaxes[0], answer.result);
    list.push({ id: answer.id, context });
  }
  association.setMaxPduLength(request.maxPduLength === 0 ? maxPduBytes : Math.min(request.maxPduLength, maxPduBytes));
  return association;
}
