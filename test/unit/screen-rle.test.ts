import { describe, expect, it } from 'vitest';
import { decodeRleFrame, encodeRleFrame, RleDataError } from '../../src/main/core/screen/rle';

const layout16 = { rows: 3, columns: 4, samplesPerPixel: 1, bitsAllocated: 16 };

describe('RLE Lossless pixel coding (PS3.5 Annex G)', () => {
  it('decodes a hand-made frame: literal and repeat runs, most significant byte segment first', () => {
    // 2 segments for 16-bit samples; 12 pixels: high bytes all 0x01, low bytes 0..11.
    const high = Buffer.from([0xf5, 0x01]); // repeat 12 times 0x01 (−11 → 12)
    const low = Buffer.from([11, ...Array.from({ length: 12 }, (_, i) => i)]); // 12 literal bytes
    const header = Buffer.alloc(64);
    header.writeUInt32LE(2, 0);
    header.writeUInt32LE(64, 4);
    header.writeUInt32LE(64 + high.length, 8);
    const native = decodeRleFrame(Buffer.concat([header, high, low]), layout16);
    expect([...Array.from({ length: 12 }, (_, i) => native.readUInt16LE(2 * i))]).toEqual(Array.from({ length: 12 }, (_, i) => 0x0100 + i));
  });

  it('round-trips frames of every shape it writes: runs, literals, 8 and 16 bits, colour', () => {
    for (const layout of [layout16, { rows: 5, columns: 300, samplesPerPixel: 1, bitsAllocated: 16 }, { rows: 2, columns: 7, samplesPerPixel: 3, bitsAllocated: 8 }, { rows: 4, columns: 129, samplesPerPixel: 1, bitsAllocated: 8 }]) {
      const bytes = layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
      const native = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i += 1) native[i] = i % 7 < 4 ? 0 : (i * 31) & 0xff;
      const coded = encodeRleFrame(native, layout);
      expect(coded.length % 2).toBe(0);
      expect(decodeRleFrame(coded, layout).equals(native)).toBe(true);
    }
  });

  it('refuses a frame whose segments are missing or short, with a typed error', () => {
    const header = Buffer.alloc(64);
    header.writeUInt32LE(1, 0);
    expect(() => decodeRleFrame(header, layout16)).toThrow(RleDataError);
    header.writeUInt32LE(2, 0);
    header.writeUInt32LE(64, 4);
    header.writeUInt32LE(66, 8);
    expect(() => decodeRleFrame(Buffer.concat([header, Buffer.from([0xff, 0x01, 0xff, 0x02])]), layout16)).toThrow(/decodes to 2 of 12 bytes/);
  });
});
