import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DicomLimitExceeded,
  DicomParseError,
  encodeInstance,
  openInstanceFile,
  clearFiles,
  parseInstanceBuffer,
  parseInstanceFile,
  tag,
  writePieces,
  type ParseLimits,
} from '../../src/main/core/dicom';
import { checkSpooledContent } from '../../src/main/core/intake/content-check';
import { GatewaySettings } from '../../src/shared/settings';
import { acceptsTransferSyntax } from '../../src/main/core/dicom/transfer-syntax';
import { deidentifyDataset } from '../../src/main/core/deid';
import { contextFor, identityOf } from '../support/deid-harness';
import { DEFLATED_LE, EXPLICIT_LE, ITEM_END, ITEM_UNDEFINED, SEQUENCE_END, element, fileMeta, header } from '../fixtures/memory-bombs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'content-limits-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const UID = '1.2.826.0.1.3680043.10.543.7';
/** The five attributes intake needs, 5 elements of the count. */
const identity = (): Buffer =>
  Buffer.concat([
    element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.1.2'),
    element(0x0008, 0x0018, 'UI', UID),
    element(0x0020, 0x000d, 'UI', `${UID}.1`),
    element(0x0020, 0x000e, 'UI', `${UID}.2`),
    element(0x0028, 0x0301, 'CS', 'NO'),
  ]);
/** `n` private UL elements (12 bytes each) in group 0x0009 after the identity. */
const withElements = (n: number): Buffer => {
  const parts = [identity()];
  const value = Buffer.alloc(4);
  for (let i = 0; i < n; i++) parts.push(element(0x0009, 0x1000 + i, 'UL', value));
  return Buffer.concat(parts);
};
const part10 = (dataset: Buffer, syntax = EXPLICIT_LE): Buffer => Buffer.concat([fileMeta(UID, syntax), dataset]);
const fileOf = (name: string, bytes: Buffer): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
};
/** The file meta group of fileMeta(): 6 elements, which count as well. */
const META_ELEMENTS = 6;

/** Parses the same bytes both ways (at once from memory, and in slices from a file) and expects the same outcome. */
async function bothWays(name: string, bytes: Buffer, limits: Partial<ParseLimits>): Promise<{ ok: true } | { ok: false; limit: string }> {
  const outcome = (run: () => void): { ok: true } | { ok: false; limit: string } => {
    try {
      run();
      return { ok: true };
    } catch (error) {
      if (error instanceof DicomLimitExceeded) return { ok: false, limit: error.limit };
      throw error;
    }
  };
  const now = outcome(() => parseInstanceBuffer(bytes, limits).close());
  let sliced: { ok: true } | { ok: false; limit: string };
  try {
    (await openInstanceFile(fileOf(name, bytes), limits)).close();
    sliced = { ok: true };
  } catch (error) {
    if (!(error instanceof DicomLimitExceeded)) throw error;
    sliced = { ok: false, limit: error.limit };
  }
  expect(sliced).toEqual(now);
  return now;
}

describe('limits.maxElementsPerInstance: at most that many attributes, items and fragments at every depth', () => {
  const total = META_ELEMENTS + 5 + 100; // meta, identity, 100 private elements
  it('accepts an instance of cap - 1 and of exactly cap elements, and refuses cap + 1', async () => {
    const bytes = part10(withElements(100));
    expect(await bothWays('count-a.dcm', bytes, { maxElementsPerInstance: total + 1 })).toEqual({ ok: true });
    expect(await bothWays('count-b.dcm', bytes, { maxElementsPerInstance: total })).toEqual({ ok: true });
    expect(await bothWays('count-c.dcm', bytes, { maxElementsPerInstance: total - 1 })).toEqual({ ok: false, limit: 'maxElementsPerInstance' });
  });

  it('counts every sequence item and every element inside it', async () => {
    // A sequence (1) with 3 items (3), each holding 2 elements (6): 10 more than the identity and meta.
    const items = [0, 1, 2].map(() => Buffer.concat([ITEM_UNDEFINED, element(0x0008, 0x0100, 'SH', 'C1'), element(0x0008, 0x0102, 'SH', 'DCM'), ITEM_END]));
    const seq = Buffer.concat([header(0x0008, 0x2218, 'SQ', 0xffffffff), ...items, SEQUENCE_END]);
    const ds = Buffer.concat([element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.1.2'), element(0x0008, 0x0018, 'UI', UID), seq, element(0x0020, 0x000d, 'UI', `${UID}.1`), element(0x0020, 0x000e, 'UI', `${UID}.2`), element(0x0028, 0x0301, 'CS', 'NO')]);
    const n = META_ELEMENTS + 5 + 10;
    expect(await bothWays('items-a.dcm', part10(ds), { maxElementsPerInstance: n })).toEqual({ ok: true });
    expect(await bothWays('items-b.dcm', part10(ds), { maxElementsPerInstance: n - 1 })).toEqual({ ok: false, limit: 'maxElementsPerInstance' });
  });

  it('counts each fragment of encapsulated pixel data', async () => {
    const fragments = [Buffer.alloc(4), Buffer.alloc(2), Buffer.alloc(2)].map((f) => Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0]), Buffer.from(Uint32Array.of(f.length).buffer), f]));
    const pixel = Buffer.concat([header(0x7fe0, 0x0010, 'OB', 0xffffffff), ...fragments, SEQUENCE_END]);
    const bytes = part10(Buffer.concat([identity(), pixel]), '1.2.840.10008.1.2.4.50');
    const n = META_ELEMENTS + 5 + 1 + 3;
    expect(await bothWays('frag-a.dcm', bytes, { maxElementsPerInstance: n })).toEqual({ ok: true });
    expect(await bothWays('frag-b.dcm', bytes, { maxElementsPerInstance: n - 1 })).toEqual({ ok: false, limit: 'maxElementsPerInstance' });
  });
});

describe('limits.maxInMemoryValueBytes: the bytes of values held in memory', () => {
  // Meta values: 2 + 28 (SOP class) + 28 (UID, padded) + 20 (syntax) + 30 (implementation) + 4 (group length).
  const valueBytesOf = (bytes: Buffer): number => {
    let sum = 0;
    const parsed = parseInstanceBuffer(bytes, { maxInMemoryValueBytes: 1 << 30 });
    for (const ds of [parsed.meta, parsed.dataset]) for (const e of ds.values()) sum += e.value?.length ?? 0;
    parsed.close();
    return sum;
  };
  it('accepts exactly the cap and refuses one byte past it', async () => {
    const text = element(0x0008, 0x1030, 'LO', 'X'.repeat(1000));
    const bytes = part10(Buffer.concat([element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.1.2'), element(0x0008, 0x0018, 'UI', UID), text, element(0x0020, 0x000d, 'UI', `${UID}.1`), element(0x0020, 0x000e, 'UI', `${UID}.2`), element(0x0028, 0x0301, 'CS', 'NO')]));
    const sum = valueBytesOf(bytes);
    // Independent arithmetic: the meta (fileMeta) and the identity values, plus the 1000-byte description.
    expect(sum).toBe(4 + 2 + 28 + 28 + 20 + 30 + 28 + 28 + 1000 + 30 + 30 + 2);
    expect(await bothWays('bytes-a.dcm', bytes, { maxInMemoryValueBytes: sum })).toEqual({ ok: true });
    expect(await bothWays('bytes-b.dcm', bytes, { maxInMemoryValueBytes: sum - 1 })).toEqual({ ok: false, limit: 'maxInMemoryValueBytes' });
  });

  it('leaves a large binary value inside a sequence on disk, referenced by offset, not counted', async () => {
    const big = Buffer.alloc(100_000, 7);
    const seq = Buffer.concat([header(0x0008, 0x2218, 'SQ', 0xffffffff), ITEM_UNDEFINED, element(0x0028, 0x1201, 'OW', big), ITEM_END, SEQUENCE_END]);
    const bytes = part10(Buffer.concat([element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.1.2'), element(0x0008, 0x0018, 'UI', UID), seq, element(0x0020, 0x000d, 'UI', `${UID}.1`), element(0x0020, 0x000e, 'UI', `${UID}.2`), element(0x0028, 0x0301, 'CS', 'NO')]));
    const parsed = await openInstanceFile(fileOf('nested-bulk.dcm', bytes), { maxInMemoryValueBytes: 1000 });
    const nested = parsed.dataset.get(tag(0x0008, 0x2218))!.items![0]!.get(tag(0x0028, 0x1201))!;
    expect(nested.value).toBeUndefined();
    expect(nested.bulk?.length).toBe(12 + 100_000);
    expect(parsed.source.read(nested.bulk!.offset + 12, 4)).toEqual(Buffer.from([7, 7, 7, 7]));
    // De-identification removes it rather than carrying (and searching) a large nested value.
    const result = deidentifyDataset(parsed.dataset, identityOf(parsed.dataset), contextFor());
    expect(result.dataset.get(tag(0x0008, 0x2218))?.items?.[0]?.has(tag(0x0028, 0x1201))).toBe(false);
    parsed.close();
  });
});

describe('limits.maxInflatedBytes: a deflated data set inflates at most that far', () => {
  const plain = withElements(50);
  const deflated = part10(zlib.deflateRawSync(plain), DEFLATED_LE);
  it('accepts a data set inflating to exactly the cap and refuses it one byte under', async () => {
    expect(await bothWays('dfl-a.dcm', deflated, { maxInflatedBytes: plain.length })).toEqual({ ok: true });
    expect(await bothWays('dfl-b.dcm', deflated, { maxInflatedBytes: plain.length - 1 })).toEqual({ ok: false, limit: 'maxInflatedBytes' });
  });

  it('removes its scratch file on close and after a refusal, and says plainly when the bytes are not deflate', async () => {
    const file = fileOf('dfl-scratch.dcm', deflated);
    const parsed = await openInstanceFile(file, {});
    expect(fs.readdirSync(dir).filter((f) => f.includes('dfl-scratch') && f.endsWith('.inflated'))).toHaveLength(1);
    parsed.close();
    await expect(openInstanceFile(file, { maxInflatedBytes: 10 })).rejects.toBeInstanceOf(DicomLimitExceeded);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.inflated'))).toEqual([]);
    const garbage = fileOf('dfl-garbage.dcm', part10(Buffer.from('not deflate at all, just text'), DEFLATED_LE));
    await expect(openInstanceFile(garbage)).rejects.toThrow(/cannot be inflated/);
    expect(() => parseInstanceFile(garbage)).toThrow(DicomParseError);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.inflated'))).toEqual([]);
  });

  it('writes a deflated instance back through a stream, its large values copied from the inflated file', async () => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const ds = Buffer.concat([identity(), element(0x0042, 0x0011, 'OB', big)]);
    const file = fileOf('dfl-write.dcm', part10(zlib.deflateRawSync(ds), DEFLATED_LE));
    const parsed = await openInstanceFile(file);
    const target = path.join(dir, 'dfl-written.dcm');
    await writePieces(target, encodeInstance({ dataset: parsed.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.2', sopInstanceUid: UID }), undefined, parsed.source);
    parsed.close();
    const reread = parseInstanceFile(target);
    const document = reread.dataset.get(tag(0x0042, 0x0011))!;
    expect(reread.syntax.uid).toBe(DEFLATED_LE);
    expect(reread.source.read(document.bulk!.offset + 12, big.length).equals(big)).toBe(true);
    reread.close();
  });
});

describe('the intake content check answers a limit with 0xA700 and a reason that fits the Error Comment', () => {
  it('0xA700 naming the setting past a limit, 0xC000 for what is not DICOM, nothing for a good instance', async () => {
    const good = fileOf('check-good.dcm', part10(withElements(3)));
    expect(await checkSpooledContent(good, clearFiles, {})).toBeUndefined();
    const past = await checkSpooledContent(good, clearFiles, { maxElementsPerInstance: 5 });
    expect(past?.status).toBe(0xa700);
    expect(past?.message).toBe('More attributes than limits.maxElementsPerInstance (5)');
    const bomb = await checkSpooledContent(fileOf('check-bomb.dcm', part10(zlib.deflateRawSync(Buffer.concat([identity(), element(0x0042, 0x0011, 'OB', Buffer.alloc(4 << 20))])), DEFLATED_LE)), clearFiles, { maxInflatedBytes: 1 << 20 });
    expect(bomb).toEqual({ status: 0xa700, message: 'Inflates past limits.maxInflatedBytes (1048576 bytes)' });
    for (const refusal of [past, bomb]) expect(refusal!.message.length).toBeLessThanOrEqual(64);
    expect((await checkSpooledContent(fileOf('check-junk.dcm', Buffer.from('GET / HTTP/1.1\r\n\r\n')), clearFiles, {}))?.status).toBe(0xc000);
  });
});

describe('settings', () => {
  it('documents the content limits with their defaults', () => {
    expect(GatewaySettings.parse({}).limits).toMatchObject({
      maxInflatedBytes: 256 * 1024 * 1024,
      maxElementsPerInstance: 200000,
      maxInMemoryValueBytes: 64 * 1024 * 1024,
      acceptDeflatedTransferSyntax: true,
    });
  });
  it('refuses Deflated Explicit VR Little Endian at negotiation when the site turns it off, and nothing else', () => {
    expect(acceptsTransferSyntax(DEFLATED_LE, true)).toBe(true);
    expect(acceptsTransferSyntax(DEFLATED_LE, false)).toBe(false);
    expect(acceptsTransferSyntax(EXPLICIT_LE, false)).toBe(true);
    expect(acceptsTransferSyntax('1.2.840.10008.1.2.4.50', false)).toBe(true);
    expect(acceptsTransferSyntax('1.2.3.4', true)).toBe(false);
  });
});
