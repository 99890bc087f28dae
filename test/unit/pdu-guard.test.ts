import { describe, expect, it } from 'vitest';
import { PduReader, ProtocolViolation, encodeAssociateAc, parseAssociateRq, readCommand, readPdvs } from '../../src/main/core/intake/pdu-guard';
import { EXPLICIT_LE, IMPLICIT_LE, MG_FOR_PRESENTATION, VERIFICATION, acceptedContexts, associateRqWith, cStoreCommand, echoCommand, pData } from '../support/raw-scu';

const mg = (id: number) => ({ id, abstract: MG_FOR_PRESENTATION, syntaxes: [EXPLICIT_LE] });
/** The body of a PDU built by the raw test client (written from PS3.8 independently of the gateway's code). */
const bodyOf = (pdu: Buffer): Buffer => pdu.subarray(6);
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolViolation) return error.code;
    throw error;
  }
  return undefined;
};

describe('A-ASSOCIATE-RQ (PS3.8 9.3.2): IDs as proposed, or a typed violation', () => {
  it('keeps gapped and descending IDs in the order proposed, and answers each under its own ID', () => {
    const request = parseAssociateRq(bodyOf(associateRqWith('DEID_GW', 'RAW_SCU', [mg(1), mg(5), { id: 3, abstract: VERIFICATION, syntaxes: [IMPLICIT_LE] }])));
    expect(request.contexts.map((c) => c.id)).toEqual([1, 5, 3]);
    expect(request.calledAeTitle).toBe('DEID_GW');
    expect(request.callingAeTitle).toBe('RAW_SCU');
    expect(request.maxPduLength).toBe(16384);
    const ac = encodeAssociateAc(request, [{ id: 1, result: 0, transferSyntax: EXPLICIT_LE }, { id: 5, result: 4 }, { id: 3, result: 0, transferSyntax: IMPLICIT_LE }], { maxPduLength: 65536, implementationClassUid: '1.2.3', implementationVersion: 'TEST' });
    expect(ac[0]).toBe(0x02);
    expect(ac.readUInt32BE(2)).toBe(ac.length - 6);
    expect(acceptedContexts(ac.subarray(6))).toEqual([
      { id: 1, result: 0, syntax: EXPLICIT_LE },
      { id: 5, result: 4, syntax: IMPLICIT_LE },
      { id: 3, result: 0, syntax: IMPLICIT_LE },
    ]);
  });

  it.each([
    ['duplicate (1, 255, 1)', [mg(1), mg(255), mg(1)]],
    ['even', [mg(2)]],
    ['zero', [mg(0)]],
    ['1,000 contexts', Array.from({ length: 1000 }, (_, i) => mg((2 * i + 1) % 256))],
    ['none', []],
    ['no transfer syntax', [{ id: 1, abstract: MG_FOR_PRESENTATION, syntaxes: [] }]],
  ])('refuses %s as bad-presentation-context', (_name, contexts) => {
    expect(codeOf(() => parseAssociateRq(bodyOf(associateRqWith('DEID_GW', 'RAW_SCU', contexts))))).toBe('bad-presentation-context');
  });

  it('an item length pointing past the end is malformed, not a RangeError', () => {
    const body = Buffer.from(bodyOf(associateRqWith('DEID_GW', 'RAW_SCU', [mg(1)])));
    body.writeUInt16BE(0xffff, 70); // the application context item's length
    expect(codeOf(() => parseAssociateRq(body))).toBe('malformed-pdu');
    expect(codeOf(() => parseAssociateRq(body.subarray(0, 40)))).toBe('malformed-pdu');
  });
});

describe('P-DATA and command sets', () => {
  it('reads PDVs and refuses one that runs past its PDU', () => {
    const pdvs = readPdvs(bodyOf(pData(3, true, true, echoCommand())));
    expect(pdvs).toHaveLength(1);
    expect(pdvs[0]).toMatchObject({ contextId: 3, command: true, last: true });
    const bad = Buffer.from(bodyOf(pData(3, false, true, Buffer.alloc(10))));
    bad.writeUInt32BE(1000, 0);
    expect(codeOf(() => readPdvs(bad))).toBe('malformed-pdu');
  });

  it('knows whether a command carries a data set (C-ECHO no, C-STORE yes), and refuses over-long UIDs', () => {
    expect(readCommand(echoCommand())).toEqual({ commandField: 0x0030, hasDataset: false });
    expect(readCommand(cStoreCommand('1.2.3.4'))).toEqual({ commandField: 0x0001, hasDataset: true });
    expect(codeOf(() => readCommand(cStoreCommand(`1.2.${'9'.repeat(70)}`)))).toBe('malformed-command');
    expect(codeOf(() => readCommand(echoCommand().subarray(0, 20)))).toBe('malformed-command');
    // A C-STORE that does not name its instance (found by the fuzz: it reached the spool code as undefined).
    expect(codeOf(() => readCommand(cStoreCommand('')))).toBe('malformed-command');
    // A command field nothing answers (here a C-STORE-RSP, 0x8001): the association would otherwise wait on itself.
    const response = Buffer.from(echoCommand());
    const commandField = response.indexOf(Buffer.from([0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00]));
    expect(commandField).toBeGreaterThan(0);
    response.writeUInt16LE(0x8001, commandField + 8);
    expect(codeOf(() => readCommand(response))).toBe('malformed-command');
  });

  it('frames PDUs fed one byte at a time, and refuses a bad header as soon as its six bytes are in', () => {
    const stream = Buffer.concat([pData(1, true, true, echoCommand()), pData(1, true, true, echoCommand())]);
    const reader = new PduReader(65536);
    const out = [];
    for (let i = 0; i < stream.length; i++) out.push(...reader.push(stream.subarray(i, i + 1)));
    expect(out.map((p) => p.type)).toEqual([4, 4]);
    expect(reader.inPdu()).toBe(false);
    expect(codeOf(() => new PduReader(65536).push(Buffer.from([0x04, 0, 0, 1, 0, 1])))).toBe('pdu-too-large');
    expect(codeOf(() => new PduReader(65536).push(Buffer.from('GET / HTTP/1.1')))).toBe('not-a-pdu');
  });
});
