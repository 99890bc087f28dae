/**
 * The DICOM upper layer (PS3.8 section 9) as far as a storage SCP needs it, read and written here rather than by
 * dcmjs-dimse: its A-ASSOCIATE-RQ reader renumbers presentation context IDs that are not ascending (an ID of 257
 * then makes its A-ASSOCIATE-AC writer throw), and its P-DATA reader takes any context ID and any order of
 * fragments. Everything a sender controls is checked here first; a breach is a typed `ProtocolViolation`.
 */

/** PDU types (PS3.8 9.3.1). */
export const PDU = { associateRq: 0x01, associateAc: 0x02, associateRj: 0x03, pData: 0x04, releaseRq: 0x05, releaseRp: 0x06, abort: 0x07 } as const;

/** A-ABORT reasons when the source is the service provider (PS3.8 Table 9-26). */
export const ABORT_REASON = { notSpecified: 0, unrecognizedPdu: 1, unexpectedPdu: 2, unrecognizedPduParameter: 4, unexpectedPduParameter: 5, invalidPduParameter: 6 } as const;

export const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
/** The largest A-ASSOCIATE-RQ, release or abort PDU read: 128 presentation contexts with long UIDs fit many times over. */
export const MAX_CONTROL_PDU = 1 << 20;
/** A command set is a handful of short elements; more is not a command. */
export const MAX_COMMAND_BYTES = 64 * 1024;
const MAX_UID_LENGTH = 64;

export type ViolationCode =
  | 'not-a-pdu'
  | 'pdu-too-large'
  | 'malformed-pdu'
  | 'bad-presentation-context'
  | 'unexpected-pdu'
  | 'context-not-accepted'
  | 'fragment-out-of-order'
  | 'malformed-command'
  | 'operation-overlap'
  | 'pdu-deadline'
  | 'idle'
  | 'too-slow'
  | 'peer-aborted';

/** Something a peer sent (or failed to send) that ends its association, with the A-ABORT reason that says so. */
export class ProtocolViolation extends Error {
  constructor(readonly code: ViolationCode, message: string, readonly abortReason: number = ABORT_REASON.invalidPduParameter) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

const violation = (code: ViolationCode, message: string, reason?: number): ProtocolViolation => new ProtocolViolation(code, message, reason);

/** Bounds-checked big-endian reads over one PDU body: a length that points past the end is a violation, never a RangeError. */
class Cursor {
  at = 0;
  constructor(private readonly bytes: Buffer, private readonly end = bytes.length) {}
  left(): number {
    return this.end - this.at;
  }
  need(n: number, what: string): void {
    if (n > this.left()) throw violation('malformed-pdu', `${what} runs past the end of its item`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.at++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.bytes.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.bytes.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  take(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
}

/** A UID as sent: trailing NUL/space padding removed; only digits and dots, at most 64 characters (PS3.5 9.1). */
function uidOf(bytes: Buffer, what: string): string {
  const text = bytes.toString('latin1').replace(/[\0 ]+$/, '');
  if (text.length === 0 || text.length > MAX_UID_LENGTH || !/^[0-9.]+$/.test(text)) throw violation('malformed-pdu', `${what} is not a UID`);
  return text;
}

export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export interface AssociateRequest {
  /** The 16-byte fields as sent (echoed in the answer, PS3.8 9.3.3.1). */
  calledField: Buffer;
  callingField: Buffer;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  contexts: ProposedContext[];
  /** 0 means no limit (PS3.8 D.1). */
  maxPduLength: number;
  implementationClassUid?: string;
  implementationVersion?: string;
}

/**
 * Reads an A-ASSOCIATE-RQ body (after the 6-byte PDU header). Presentation context IDs are kept as sent; they must be
 * odd, 1 to 255 and each used once (PS3.8 9.3.2.2), each context naming one abstract syntax and at least one
 * transfer syntax. Anything else is a violation: the answer is an A-ABORT, not a renumbered guess.
 */
export function parseAssociateRq(body: Buffer): AssociateRequest {
  const c = new Cursor(body);
  const version = c.u16('protocol version');
  if ((version & 1) === 0) throw violation('malformed-pdu', 'protocol version 1 not offered');
  c.take(2, 'reserved');
  const calledField = Buffer.from(c.take(16, 'called AE title'));
  const callingField = Buffer.from(c.take(16, 'calling AE title'));
  c.take(32, 'reserved');
  const request: AssociateRequest = {
    calledField,
    callingField,
    calledAeTitle: calledField.toString('latin1').trim(),
    callingAeTitle: callingField.toString('latin1').trim(),
    applicationContext: '',
    contexts: [],
    maxPduLength: 0,
  };
  const ids = new Set<number>();
  let sawUserInfo = false;
  while (c.left() > 0) {
    const type = c.u8('item type');
    c.u8('reserved');
    const length = c.u16('item length');
    const item = new Cursor(c.take(length, `item 0x${type.toString(16)}`));
    if (type === 0x10) {
      if (request.applicationContext) throw violation('malformed-pdu', 'two application context items');
      request.applicationContext = item.take(item.left(), 'application context').toString('latin1').replace(/[\0 ]+$/, '');
    } else if (type === 0x20) {
      const id = item.u8('presentation context ID');
      item.take(3, 'reserved');
      if (id === 0 || id % 2 === 0) throw violation('bad-presentation-context', `presentation context ID ${id} is not an odd number from 1 to 255`);
      if (ids.has(id)) throw violation('bad-presentation-context', `presentation context ID ${id} is proposed twice`);
      ids.add(id);
      let abstractSyntax: string | undefined;
      const transferSyntaxes: string[] = [];
      while (item.left() > 0) {
        const sub = item.u8('sub-item type');
        item.u8('reserved');
        const value = item.take(item.u16('sub-item length'), 'syntax');
        if (sub === 0x30) {
          if (abstractSyntax !== undefined) throw violation('bad-presentation-context', `presentation context ${id} names two abstract syntaxes`);
          abstractSyntax = uidOf(value, 'abstract syntax');
        } else if (sub === 0x40) {
          transferSyntaxes.push(uidOf(value, 'transfer syntax'));
        } else {
          throw violation('bad-presentation-context', `presentation context ${id} has an unknown sub-item 0x${sub.toString(16)}`);
        }
      }
      if (abstractSyntax === undefined || transferSyntaxes.length === 0) throw violation('bad-presentation-context', `presentation context ${id} lacks its abstract or transfer syntax`);
      request.contexts.push({ id, abstractSyntax, transferSyntaxes });
    } else if (type === 0x50) {
      if (sawUserInfo) throw violation('malformed-pdu', 'two user information items');
      sawUserInfo = true;
      while (item.left() > 0) {
        const sub = item.u8('user item type');
        item.u8('reserved');
        const value = new Cursor(item.take(item.u16('user item length'), 'user item'));
        if (sub === 0x51) request.maxPduLength = value.u32('maximum length');
        else if (sub === 0x52) request.implementationClassUid = value.take(value.left(), 'implementation class UID').toString('latin1').replace(/[\0 ]+$/, '');
        else if (sub === 0x55) request.implementationVersion = value.take(value.left(), 'implementation version').toString('latin1').trim();
        // Other user items (asynchronous window, role selection, extended negotiation, user identity) are not
        // answered: the defaults they fall back to (one operation at a time, default roles) are what we serve.
      }
    } else {
      throw violation('malformed-pdu', `unknown item type 0x${type.toString(16)} in the association request`);
    }
  }
  if (!request.applicationContext) throw violation('malformed-pdu', 'no application context item');
  if (request.contexts.length === 0) throw violation('bad-presentation-context', 'no presentation context proposed');
  if (!sawUserInfo) throw violation('malformed-pdu', 'no user information item');
  return request;
}

function item(type: number, body: Buffer): Buffer {
  if (body.length > 0xffff) throw new RangeError(`item 0x${type.toString(16)} too long`);
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

export function pdu(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head[0] = type;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

export interface ContextAnswer {
  id: number;
  /** 0 acceptance, 3 abstract syntax not supported, 4 transfer syntaxes not supported (PS3.8 Table 9-18). */
  result: number;
  transferSyntax?: string;
}

/** An A-ASSOCIATE-AC answering every proposed context under the ID it was proposed with. */
export function encodeAssociateAc(request: AssociateRequest, answers: ContextAnswer[], options: { maxPduLength: number; implementationClassUid: string; implementationVersion: string }): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(1, 0);
  const contexts = answers.map((a) => {
    // For a rejected context the transfer syntax sub-item is not significant (PS3.8 9.3.3.2): a fixed, valid UID.
    const syntax = a.result === 0 && a.transferSyntax ? a.transferSyntax : '1.2.840.10008.1.2';
    return item(0x21, Buffer.concat([Buffer.from([a.id, 0, a.result, 0]), item(0x40, Buffer.from(syntax, 'latin1'))]));
  });
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(options.maxPduLength);
  const user = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from(options.implementationClassUid, 'latin1')), item(0x55, Buffer.from(options.implementationVersion.slice(0, 16), 'latin1'))]));
  return pdu(PDU.associateAc, Buffer.concat([fixed, request.calledField, request.callingField, Buffer.alloc(32), item(0x10, Buffer.from(APPLICATION_CONTEXT)), ...contexts, user]));
}

/** A-ASSOCIATE-RJ (PS3.8 9.3.4): result 1 permanent / 2 transient, source 1 user / 2 ACSE / 3 presentation, reason. */
export const encodeAssociateRj = (result: number, source: number, reason: number): Buffer => pdu(PDU.associateRj, Buffer.from([0, result, source, reason]));
/** A-ABORT from the service provider (source 2) with its reason (PS3.8 9.3.8). */
export const encodeAbort = (reason: number): Buffer => pdu(PDU.abort, Buffer.from([0, 0, 2, reason]));
export const encodeReleaseRp = (): Buffer => pdu(PDU.releaseRp, Buffer.alloc(4));

export interface Pdv {
  contextId: number;
  command: boolean;
  last: boolean;
  value: Buffer;
}

/** The PDVs of a P-DATA-TF body; each must lie inside it (PS3.8 9.3.5.1). */
export function readPdvs(body: Buffer): Pdv[] {
  const c = new Cursor(body);
  const out: Pdv[] = [];
  if (c.left() === 0) throw violation('malformed-pdu', 'P-DATA-TF without a PDV');
  while (c.left() > 0) {
    const length = c.u32('PDV length');
    if (length < 2) throw violation('malformed-pdu', 'PDV shorter than its header');
    const pdvBody = c.take(length, 'PDV');
    const header = pdvBody[1]!;
    if (header & 0xfc) throw violation('malformed-pdu', 'PDV message control header has reserved bits set');
    out.push({ contextId: pdvBody[0]!, command: (header & 1) === 1, last: (header & 2) === 2, value: pdvBody.subarray(2) });
  }
  return out;
}

/** Command fields this SCP answers (PS3.7 E.1); a C-CANCEL is not answered, a response is not expected from a requester. */
export const COMMAND = { cStoreRq: 0x0001, cEchoRq: 0x0030, cCancelRq: 0x0fff } as const;
/** Request command fields dcmjs-dimse answers (C-STORE, C-GET, C-FIND, C-MOVE, C-ECHO, N-*); C-CANCEL needs no answer. */
const ANSWERED_REQUESTS = new Set([0x0001, 0x0010, 0x0020, 0x0021, 0x0030, 0x0100, 0x0110, 0x0120, 0x0130, 0x0140, 0x0150]);
const NO_DATASET = 0x0101;

export interface CommandSummary {
  commandField: number;
  hasDataset: boolean;
}

/**
 * Checks a whole command set (implicit VR little endian, group 0000 only, PS3.7 6.3.1) before dcmjs-dimse decodes it:
 * every element inside the set, a command field present, UIDs no longer than 64 characters (an over-long one would be
 * truncated, with its value printed, when echoed in the response).
 */
export function readCommand(bytes: Buffer): CommandSummary {
  let at = 0;
  let commandField: number | undefined;
  let datasetType: number | undefined;
  let affectedClass = 0;
  let affectedInstance = 0;
  while (at < bytes.length) {
    if (at + 8 > bytes.length) throw violation('malformed-command', 'command element header cut short');
    const group = bytes.readUInt16LE(at);
    const element = bytes.readUInt16LE(at + 2);
    const length = bytes.readUInt32LE(at + 4);
    at += 8;
    if (group !== 0) throw violation('malformed-command', `element (${group.toString(16).padStart(4, '0')},${element.toString(16).padStart(4, '0')}) is not a command element`);
    if (length > bytes.length - at) throw violation('malformed-command', `command element (0000,${element.toString(16).padStart(4, '0')}) runs past the command set`);
    const value = bytes.subarray(at, at + length);
    at += length;
    if (element === 0x0100 || element === 0x0800) {
      if (length !== 2) throw violation('malformed-command', `command element (0000,${element.toString(16).padStart(4, '0')}) is not a US value`);
      if (element === 0x0100) commandField = value.readUInt16LE(0);
      else datasetType = value.readUInt16LE(0);
    } else if (element === 0x0002 || element === 0x0003 || element === 0x1000 || element === 0x1001) {
      if (length > MAX_UID_LENGTH) throw violation('malformed-command', `UID in command element (0000,${element.toString(16).padStart(4, '0')}) is longer than 64 characters`);
      const text = value.toString('latin1').replace(/[\0 ]+$/, '');
      if (element === 0x0002) affectedClass = text.length;
      if (element === 0x1000) affectedInstance = text.length;
    }
  }
  if (commandField === undefined) throw violation('malformed-command', 'command set without a command field');
  // Anything else would never be answered, and the association would wait on itself forever (no idle timeout runs
  // while an answer is owed); a response is not expected from a requester.
  if (!ANSWERED_REQUESTS.has(commandField) && commandField !== COMMAND.cCancelRq) throw violation('malformed-command', `command field 0x${commandField.toString(16).padStart(4, '0')} is not a request this gateway answers`);
  if (datasetType === undefined) throw violation('malformed-command', 'command set without a data set type');
  // Required of a C-STORE-RQ (PS3.7 9.3.1.1) and of a C-ECHO-RQ (9.3.5.1): the instance would have no name otherwise.
  if ((commandField === COMMAND.cStoreRq || commandField === COMMAND.cEchoRq) && affectedClass === 0) throw violation('malformed-command', 'request without its Affected SOP Class UID');
  if (commandField === COMMAND.cStoreRq && affectedInstance === 0) throw violation('malformed-command', 'C-STORE without its Affected SOP Instance UID');
  return { commandField, hasDataset: datasetType !== NO_DATASET };
}

/**
 * Splits a byte stream into PDUs without trusting the sender: the header is checked as soon as its six bytes are in
 * (type known, length within the limit for its type), and a body is gathered as a list of chunks, joined once.
 */
export class PduReader {
  private header = Buffer.alloc(6);
  private have = 0;
  private body: Buffer[] = [];
  private bodyLength = 0;
  private expected = -1;

  constructor(private readonly maxPData: number) {}

  /** Whether part of a PDU has arrived and the rest has not. */
  inPdu(): boolean {
    return this.have > 0;
  }

  /** Feeds bytes; returns the PDUs they complete. Throws a ProtocolViolation for a bad header. */
  push(chunk: Buffer): Array<{ type: number; body: Buffer }> {
    const out: Array<{ type: number; body: Buffer }> = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.expected < 0) {
        const n = Math.min(6 - this.have, chunk.length - at);
        chunk.copy(this.header, this.have, at, at + n);
        this.have += n;
        at += n;
        if (this.have < 6) break;
        const type = this.header[0]!;
        const length = this.header.readUInt32BE(2);
        if (type < PDU.associateRq || type > PDU.abort) throw violation('not-a-pdu', `not a DICOM PDU (type 0x${type.toString(16)})`, ABORT_REASON.unrecognizedPdu);
        const limit = type === PDU.pData ? this.maxPData : MAX_CONTROL_PDU;
        if (length > limit) throw violation('pdu-too-large', `PDU of ${length} bytes exceeds the limit of ${limit}`);
        this.expected = length;
      }
      const n = Math.min(this.expected - this.bodyLength, chunk.length - at);
      if (n > 0) {
        this.body.push(chunk.subarray(at, at + n));
        this.bodyLength += n;
        at += n;
      }
      if (this.bodyLength === this.expected) {
        out.push({ type: this.header[0]!, body: this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body, this.bodyLength) });
        this.body = [];
        this.bodyLength = 0;
        this.expected = -1;
        this.have = 0;
      }
    }
    return out;
  }
}
