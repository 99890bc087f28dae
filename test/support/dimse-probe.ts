import { RawConnection, associateRq } from './raw-scu';

/**
 * C-STORE and C-ECHO over raw connections, written from PS3.7/PS3.8, for the memory-bomb tests: a C-STORE whose
 * answer's Error Comment is read, and C-ECHOs sent one after another on an open association while a bomb is
 * handled, to see that the port keeps answering.
 */

const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const MG_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.2';

const evenUid = (uid: string): Buffer => Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'ascii');
const us = (n: number): Buffer => Buffer.from([n & 0xff, n >> 8]);

function commandElement(element: number, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(element, 2);
  head.writeUInt32LE(value.length, 4);
  return Buffer.concat([head, value]);
}

function command(elements: Buffer[]): Buffer {
  const rest = Buffer.concat(elements);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(rest.length);
  return Buffer.concat([commandElement(0x0000, length), rest]);
}

function pData(command: boolean, last: boolean, data: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head[0] = 0x04;
  head.writeUInt32BE(data.length + 6, 2);
  head.writeUInt32BE(data.length + 2, 6);
  head[10] = 1; // presentation context 1
  head[11] = (command ? 1 : 0) | (last ? 2 : 0);
  return Buffer.concat([head, data]);
}

/** The command elements of a DIMSE response PDU: status and error comment. */
function answerOf(body: Buffer): { status: number; errorComment: string } {
  const commandSet = body.subarray(6);
  let status = -1;
  let errorComment = '';
  for (let at = 0; at + 8 <= commandSet.length;) {
    const group = commandSet.readUInt16LE(at);
    const element = commandSet.readUInt16LE(at + 2);
    const length = commandSet.readUInt32LE(at + 4);
    if (group === 0 && element === 0x0900) status = commandSet.readUInt16LE(at + 8);
    if (group === 0 && element === 0x0902) errorComment = commandSet.toString('latin1', at + 8, at + 8 + length).replace(/[\0 ]+$/, '');
    at += 8 + length;
  }
  return { status, errorComment };
}

async function nextAnswer(conn: RawConnection, timeoutMs: number): Promise<{ status: number; errorComment: string }> {
  const answer = await conn.nextPdu(timeoutMs);
  if (!answer) throw new Error('the gateway closed the connection instead of answering');
  if (answer.type !== 0x04) throw new Error(`unexpected PDU 0x${answer.type.toString(16)} instead of a DIMSE answer`);
  return answerOf(answer.body);
}

/** Opens an association (one presentation context) and expects it accepted. */
export async function openAssociation(port: number, syntax: string, abstract = MG_FOR_PRESENTATION): Promise<RawConnection> {
  const conn = await RawConnection.open(port);
  conn.send(associateRq('DEID_GW', 'BOMB_SCU', syntax, abstract));
  const answer = await conn.nextPdu(30_000);
  if (answer?.type !== 0x02) throw new Error(`association not accepted (PDU ${answer?.type})`);
  // The presentation context's result: byte 2 of its item, after the fixed fields and the application context.
  return conn;
}

export const openEchoAssociation = (port: number): Promise<RawConnection> => openAssociation(port, IMPLICIT_LE, VERIFICATION);

/**
 * Sends one C-STORE (data set in 16 KB PDVs); resolves with `sent` once every byte is handed to the kernel, and
 * with `answer` once the gateway's C-STORE-RSP arrives.
 */
export function cStore(conn: RawConnection, sopInstanceUid: string, dataset: Buffer, timeoutMs = 600_000): { sent: Promise<void>; answer: Promise<{ status: number; errorComment: string }> } {
  conn.send(pData(true, true, command([
    commandElement(0x0002, evenUid(MG_FOR_PRESENTATION)),
    commandElement(0x0100, us(0x0001)),
    commandElement(0x0110, us(7)),
    commandElement(0x0700, us(0)),
    commandElement(0x0800, us(0x0000)),
    commandElement(0x1000, evenUid(sopInstanceUid)),
  ])));
  const chunk = 16 * 1024;
  let flushed = true;
  for (let at = 0; at < dataset.length; at += chunk) flushed = conn.socket.write(pData(false, at + chunk >= dataset.length, dataset.subarray(at, at + chunk)));
  const sent = flushed ? Promise.resolve() : new Promise<void>((resolve) => conn.socket.once('drain', () => resolve()));
  return { sent, answer: nextAnswer(conn, timeoutMs) };
}

let echoId = 100;
/** One C-ECHO on an open Verification association; resolves with its status. */
export async function cEcho(conn: RawConnection, timeoutMs = 60_000): Promise<number> {
  conn.send(pData(true, true, command([
    commandElement(0x0002, evenUid(VERIFICATION)),
    commandElement(0x0100, us(0x0030)),
    commandElement(0x0110, us(echoId++ & 0xffff)),
    commandElement(0x0800, us(0x0101)),
  ])));
  return (await nextAnswer(conn, timeoutMs)).status;
}

/**
 * Sends C-ECHOs one after another from when `from` resolves until `until` settles, and counts those answered
 * (status 0x0000) before it settled: a port held up by the work behind `until` answers none.
 */
export async function echoesWhile(conn: RawConnection, from: Promise<unknown>, until: Promise<unknown>): Promise<number> {
  let settled = false;
  void until.then(() => (settled = true), () => (settled = true));
  await from;
  let answered = 0;
  while (!settled) {
    const status = await cEcho(conn);
    if (status !== 0) throw new Error(`C-ECHO answered 0x${status.toString(16)}`);
    if (!settled) answered += 1;
  }
  return answered;
}
