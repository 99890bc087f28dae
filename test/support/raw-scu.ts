import fs from 'node:fs';
import net from 'node:net';

/**
 * A deliberately minimal DICOM upper-layer client written from PS3.8 for fault tests: it can send what no
 * well-behaved sender (storescu) would: garbage, oversized PDUs, a C-STORE whose data set is not DICOM or is cut short.
 */

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const MG_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.2';
export const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
export const VERIFICATION = '1.2.840.10008.1.1';

const pad = (s: string, n: number): Buffer => Buffer.from(s.padEnd(n, ' ').slice(0, n), 'ascii');
const evenUid = (uid: string): Buffer => Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'ascii');

function item(type: number, body: Buffer): Buffer {
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

export function associateRq(calledAe: string, callingAe: string, syntax = EXPLICIT_LE, abstract = MG_FOR_PRESENTATION): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(1, 0);
  const context = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(abstract)), item(0x40, Buffer.from(syntax))]));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const user = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4.5.6'))]));
  return pdu(0x01, Buffer.concat([fixed, pad(calledAe, 16), pad(callingAe, 16), Buffer.alloc(32), item(0x10, Buffer.from('1.2.840.10008.3.1.1.1')), context, user]));
}

export interface ContextProposal {
  id: number;
  abstract: string;
  syntaxes: string[];
}

/** An A-ASSOCIATE-RQ proposing exactly the given contexts, IDs as given (any order, any value, repeated or not). */
export function associateRqWith(calledAe: string, callingAe: string, contexts: ContextProposal[]): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(1, 0);
  const items = contexts.map((c) => item(0x20, Buffer.concat([Buffer.from([c.id & 0xff, 0, 0, 0]), item(0x30, Buffer.from(c.abstract)), ...c.syntaxes.map((ts) => item(0x40, Buffer.from(ts)))])));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const user = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4.5.6'))]));
  return pdu(0x01, Buffer.concat([fixed, pad(calledAe, 16), pad(callingAe, 16), Buffer.alloc(32), item(0x10, Buffer.from('1.2.840.10008.3.1.1.1')), ...items, user]));
}

/** The presentation context answers of an A-ASSOCIATE-AC body (read here from PS3.8 9.3.3, not by the gateway's code). */
export function acceptedContexts(body: Buffer): Array<{ id: number; result: number; syntax: string }> {
  const out: Array<{ id: number; result: number; syntax: string }> = [];
  for (let at = 68; at + 4 <= body.length;) {
    const type = body[at]!;
    const length = body.readUInt16BE(at + 2);
    if (type === 0x21) {
      const syntaxLength = body.readUInt16BE(at + 10);
      out.push({ id: body[at + 4]!, result: body[at + 6]!, syntax: body.toString('ascii', at + 12, at + 12 + syntaxLength) });
    }
    at += 4 + length;
  }
  return out;
}

/** One implicit-VR-little-endian command element. */
function element(tagGroup: number, tagElement: number, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(tagGroup, 0);
  head.writeUInt16LE(tagElement, 2);
  head.writeUInt32LE(value.length, 4);
  return Buffer.concat([head, value]);
}
const us = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

export function echoCommand(): Buffer {
  const rest = Buffer.concat([element(0, 0x0002, evenUid(VERIFICATION)), element(0, 0x0100, us(0x0030)), element(0, 0x0110, us(1)), element(0, 0x0800, us(0x0101))]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(rest.length);
  return Buffer.concat([element(0, 0x0000, length), rest]);
}

export function cStoreCommand(sopInstanceUid: string, sopClassUid = MG_FOR_PRESENTATION): Buffer {
  const rest = Buffer.concat([
    element(0, 0x0002, evenUid(sopClassUid)),
    element(0, 0x0100, us(0x0001)),
    element(0, 0x0110, us(1)),
    element(0, 0x0700, us(0)),
    element(0, 0x0800, us(0x0000)),
    element(0, 0x1000, evenUid(sopInstanceUid)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(rest.length);
  return Buffer.concat([element(0, 0x0000, length), rest]);
}

export function pData(pcid: number, command: boolean, last: boolean, data: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(data.length + 2, 0);
  head[4] = pcid;
  head[5] = (command ? 1 : 0) | (last ? 2 : 0);
  return pdu(0x04, Buffer.concat([head, data]));
}

/** A connection that collects incoming bytes and hands out whole PDUs. */
export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next PDU from the gateway, or undefined once the connection closed; rejects after `timeoutMs`. */
  async nextPdu(timeoutMs = 10_000): Promise<{ type: number; body: Buffer } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 6) {
        const length = this.buffered.readUInt32BE(2);
        if (this.buffered.length >= 6 + length) {
          const out = { type: this.buffered[0]!, body: this.buffered.subarray(6, 6 + length) };
          this.buffered = this.buffered.subarray(6 + length);
          return out;
        }
      }
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no PDU from the gateway in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves when the gateway has closed the connection (true), or false after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Sends `bytes` one byte every `intervalMs` until they are all out or the connection closes; resolves then. */
  async trickle(bytes: Buffer, intervalMs: number): Promise<void> {
    for (let at = 0; at < bytes.length && !this.closed; at++) {
      this.socket.write(bytes.subarray(at, at + 1));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** Associates; gives the A-ASSOCIATE-AC/RJ PDU type and, for a rejection, its result/source/reason. */
export async function associate(conn: RawConnection, calledAe: string, syntax = EXPLICIT_LE, callingAe = 'FAULTY_SCU'): Promise<{ type: number; result?: number; source?: number; reason?: number }> {
  conn.send(associateRq(calledAe, callingAe, syntax));
  const answer = await conn.nextPdu();
  if (!answer) throw new Error('gateway closed the connection instead of answering the association');
  if (answer.type === 0x03) return { type: 0x03, result: answer.body[1], source: answer.body[2], reason: answer.body[3] };
  return { type: answer.type };
}

/** The P-DATA PDUs of one C-STORE: its command, then its data set in fragments of `chunk` bytes. */
export function cStorePdus(sopInstanceUid: string, dataset: Buffer, pcid = 1, sopClassUid = MG_FOR_PRESENTATION, chunk = 8192): Buffer[] {
  const out = [pData(pcid, true, true, cStoreCommand(sopInstanceUid, sopClassUid))];
  for (let at = 0; at < dataset.length || at === 0; at += chunk) {
    out.push(pData(pcid, false, at + chunk >= dataset.length, dataset.subarray(at, at + chunk)));
    if (dataset.length === 0) break;
  }
  return out;
}

/** Sends one C-STORE with `dataset` as raw bytes (whatever they are) and returns the response's status. */
export async function cStoreRaw(conn: RawConnection, sopInstanceUid: string, dataset: Buffer, pcid = 1, sopClassUid = MG_FOR_PRESENTATION): Promise<number> {
  for (const p of cStorePdus(sopInstanceUid, dataset, pcid, sopClassUid)) conn.send(p);
  return responseStatus(conn);
}

/** Sends a C-ECHO on `pcid` and returns the response's status. */
export async function cEchoRaw(conn: RawConnection, pcid = 1): Promise<number> {
  conn.send(pData(pcid, true, true, echoCommand()));
  return responseStatus(conn);
}

/** The Status (0000,0900) of the next DIMSE response. */
async function responseStatus(conn: RawConnection): Promise<number> {
  for (;;) {
    const answer = await conn.nextPdu(30_000);
    if (!answer) throw new Error('gateway closed the connection instead of answering');
    if (answer.type !== 0x04) throw new Error(`unexpected PDU 0x${answer.type.toString(16)} while waiting for a response`);
    // PDV: length(4) pcid(1) control(1) then the implicit LE command; find (0000,0900) Status.
    const command = answer.body.subarray(6);
    for (let at = 0; at + 8 <= command.length;) {
      const group = command.readUInt16LE(at);
      const elem = command.readUInt16LE(at + 2);
      const length = command.readUInt32LE(at + 4);
      if (group === 0 && elem === 0x0900) return command.readUInt16LE(at + 8);
      at += 8 + length;
    }
  }
}

/** Starts a C-STORE and sends only the first part of its data set (not the last fragment): a sender that vanishes mid-instance. */
export function cStoreBegin(conn: RawConnection, sopInstanceUid: string, part: Buffer): void {
  conn.send(pData(1, true, true, cStoreCommand(sopInstanceUid)));
  conn.send(pData(1, false, false, part));
}

export async function release(conn: RawConnection): Promise<number | undefined> {
  conn.send(pdu(0x05, Buffer.alloc(4)));
  return (await conn.nextPdu())?.type;
}

/** The data set of a Part 10 file (the bytes after its file meta information) and its transfer syntax. */
export function datasetOfFile(file: string): { dataset: Buffer; syntax: string } {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('ascii', 128, 132) !== 'DICM') throw new Error(`${file} is not a Part 10 file`);
  let at = 132;
  let syntax = EXPLICIT_LE;
  while (at < bytes.length && bytes.readUInt16LE(at) === 0x0002) {
    const elem = bytes.readUInt16LE(at + 2);
    const vr = bytes.toString('ascii', at + 4, at + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? bytes.readUInt32LE(at + 8) : bytes.readUInt16LE(at + 6);
    const valueAt = at + (long ? 12 : 8);
    if (elem === 0x0010) syntax = bytes.toString('ascii', valueAt, valueAt + length).replace(/\0+$/, '').trim();
    at = valueAt + length;
  }
  return { dataset: bytes.subarray(at), syntax };
}
