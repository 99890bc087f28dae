import { rng } from './parser-fuzz';
import {
  EXPLICIT_LE,
  IMPLICIT_LE,
  MG_FOR_PRESENTATION,
  RawConnection,
  VERIFICATION,
  associateRqWith,
  cEchoRaw,
  cStorePdus,
  echoCommand,
  pData,
  pdu,
} from './raw-scu';

/**
 * A seeded mutation fuzzer for the gateway's DICOM upper layer: valid byte streams (association request, C-ECHO,
 * C-STORE, release) are mutated and sent by the raw client. The same seed gives the same inputs, so a finding can
 * be replayed.
 */


/** Valid conversations a sender could have with the gateway, as lists of PDUs. */
export function seedStreams(dataset: Buffer, syntax: string): Buffer[][] {
  const contexts = [
    { id: 1, abstract: VERIFICATION, syntaxes: [IMPLICIT_LE] },
    { id: 5, abstract: MG_FOR_PRESENTATION, syntaxes: [syntax, EXPLICIT_LE] },
    { id: 3, abstract: '1.2.840.10008.5.1.4.1.1.2', syntaxes: [IMPLICIT_LE] },
  ];
  const rq = associateRqWith('DEID_GW', 'FUZZ_SCU', contexts);
  const releaseRq = pdu(0x05, Buffer.alloc(4));
  const small = dataset.subarray(0, Math.min(dataset.length, 6000));
  return [
    [rq, pData(1, true, true, echoCommand()), releaseRq],
    [rq, ...cStorePdus('1.2.826.0.1.3680043.10.99.1', dataset, 5, MG_FOR_PRESENTATION, 4096), releaseRq],
    [rq, pData(1, true, true, echoCommand()), ...cStorePdus('1.2.826.0.1.3680043.10.99.2', small, 5, MG_FOR_PRESENTATION, 1000), releaseRq],
    [rq, pdu(0x07, Buffer.from([0, 0, 0, 0]))],
  ];
}

const INTERESTING_8 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_32 = [0, 1, 2, 5, 6, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];

/** One input: a seed stream with one to four mutations, split into chunks at random places. */
export function mutate(streams: Buffer[][], random: () => number): { chunks: Buffer[]; description: string } {
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (n: number): number => Math.floor(random() * n);
  let pdus = pick(streams).map((b) => Buffer.from(b));
  const done: string[] = [];
  const count = 1 + int(4);
  for (let m = 0; m < count; m++) {
    const which = int(pdus.length);
    const target = pdus[which]!;
    const op = int(9);
    if (op === 0 && target.length > 0) {
      const at = int(target.length);
      target[at] = target[at]! ^ (1 << int(8));
      done.push(`flip bit in PDU ${which} @${at}`);
    } else if (op === 1 && target.length > 0) {
      const at = int(target.length);
      target[at] = pick(INTERESTING_8);
      done.push(`byte in PDU ${which} @${at} = ${target[at]}`);
    } else if (op === 2 && target.length >= 6) {
      // A PDU length that lies.
      target.writeUInt32BE(pick(INTERESTING_32), 2);
      done.push(`PDU ${which} length = ${target.readUInt32BE(2)}`);
    } else if (op === 3 && target.length >= 8) {
      // A 16- or 32-bit length somewhere inside (item, sub-item, PDV).
      const at = 6 + int(target.length - 7);
      if (random() < 0.5) target.writeUInt16BE(pick(INTERESTING_32) & 0xffff, at);
      else if (at + 4 <= target.length) target.writeUInt32BE(pick(INTERESTING_32), at);
      done.push(`inner length in PDU ${which} @${at}`);
    } else if (op === 4 && target.length > 1) {
      const from = int(target.length);
      const length = 1 + int(Math.min(64, target.length - from));
      pdus[which] = Buffer.concat([target.subarray(0, from), target.subarray(from + length)]);
      done.push(`delete ${length} bytes in PDU ${which} @${from}`);
    } else if (op === 5) {
      const at = int(target.length + 1);
      const insert = Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)));
      pdus[which] = Buffer.concat([target.subarray(0, at), insert, target.subarray(at)]);
      done.push(`insert ${insert.length} bytes in PDU ${which} @${at}`);
    } else if (op === 6) {
      pdus.splice(which, 0, Buffer.from(target));
      done.push(`duplicate PDU ${which}`);
    } else if (op === 7 && pdus.length > 1) {
      const other = int(pdus.length);
      [pdus[which], pdus[other]] = [pdus[other]!, target];
      done.push(`swap PDUs ${which} and ${other}`);
    } else {
      pdus = pdus.slice(0, which + 1);
      pdus[which] = target.subarray(0, int(target.length + 1));
      done.push(`truncate at PDU ${which}`);
    }
  }
  const bytes = Buffer.concat(pdus);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = random() < 0.2 ? 1 + int(8) : 1 + int(bytes.length);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return { chunks, description: done.join('; ') };
}

/** Sends one input and reads what comes back until the gateway closes the connection or goes quiet. */
async function execute(port: number, chunks: Buffer[], quietMs: number): Promise<void> {
  const conn = await RawConnection.open(port);
  try {
    for (const c of chunks) {
      if (conn.closed) break;
      conn.send(c);
    }
    // Not a synchronisation: a bound on how long one input may hold a connection before the next.
    for (;;) {
      const answer = await conn.nextPdu(quietMs).catch(() => 'quiet' as const);
      if (answer === 'quiet' || answer === undefined) break;
    }
  } finally {
    conn.close();
  }
}

export interface FuzzReport {
  seed: number;
  executions: number;
  /** Health checks (a good C-ECHO) that failed, with the input run just before. */
  findings: string[];
  elapsedMs: number;
}

/** Runs `executions` inputs, `concurrency` at a time, checking after every `checkEvery` that a good C-ECHO is answered. */
export async function fuzzPdus(options: { port: number; seed: number; executions: number; dataset: Buffer; syntax: string; concurrency?: number; checkEvery?: number; quietMs?: number; healthy?: () => boolean }): Promise<FuzzReport> {
  const random = rng(options.seed);
  const streams = seedStreams(options.dataset, options.syntax);
  const findings: string[] = [];
  const started = Date.now();
  const concurrency = options.concurrency ?? 4;
  const checkEvery = options.checkEvery ?? 50;
  let executions = 0;
  while (executions < options.executions) {
    const batch = Array.from({ length: Math.min(concurrency, options.executions - executions) }, () => mutate(streams, random));
    await Promise.all(batch.map((input) => execute(options.port, input.chunks, options.quietMs ?? 150)));
    executions += batch.length;
    if (executions % checkEvery < concurrency || executions === options.executions) {
      const problem = await goodEcho(options.port).then((status) => (status === 0 ? undefined : `C-ECHO status 0x${status.toString(16)}`)).catch((e: Error) => e.message);
      const down = options.healthy && !options.healthy() ? 'gateway process exited' : undefined;
      if (problem || down) findings.push(`after execution ${executions} (${batch.map((b) => b.description).join(' | ')}): ${down ?? problem}`);
      if (down) break;
    }
  }
  return { seed: options.seed, executions, findings, elapsedMs: Date.now() - started };
}

/** A well-behaved association with one C-ECHO: the gateway must always still answer it. */
export async function goodEcho(port: number): Promise<number> {
  const conn = await RawConnection.open(port);
  try {
    conn.send(associateRqWith('DEID_GW', 'FUZZ_SCU', [{ id: 1, abstract: VERIFICATION, syntaxes: [IMPLICIT_LE] }]));
    const ac = await conn.nextPdu();
    if (ac?.type !== 0x02) throw new Error(`association answered with PDU ${ac?.type ?? 'none (closed)'}`);
    return await cEchoRaw(conn, 1);
  } finally {
    conn.close();
  }
}
