import { ITEM, PIXEL_DATA, SEQUENCE_DELIMITER, stringValue, tagOf, type DicomElement, type ParsedInstance } from '../dicom';
import { decodeRleFrame, encodeRleFrame, type FrameLayout } from './rle';
import type { Box } from './raster';

export class RedactionUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedactionUnsupported';
  }
}

export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

interface PixelLayout extends FrameLayout {
  frames: number;
  planar: number;
  /** The stored value displayed as black: 0 for MONOCHROME2 and colour, the largest for MONOCHROME1, the smallest when signed. */
  black: number;
}

function layoutOf(parsed: ParsedInstance): PixelLayout {
  const ds = parsed.dataset;
  // US values are in the data set's byte order: little endian for every syntax but explicit big endian.
  const read16 = (keyword: string, fallback: number): number => {
    const element = ds.get(tagOf(keyword));
    if (!element?.value || element.value.length < 2) return fallback;
    return parsed.syntax.littleEndian ? element.value.readUInt16LE(0) : element.value.readUInt16BE(0);
  };
  const bitsAllocated = read16('BitsAllocated', 16);
  const bitsStored = read16('BitsStored', bitsAllocated);
  const signed = read16('PixelRepresentation', 0) === 1;
  const photometric = stringValue(ds, tagOf('PhotometricInterpretation'))?.trim() ?? 'MONOCHROME2';
  if (bitsAllocated !== 8 && bitsAllocated !== 16) throw new RedactionUnsupported(`${bitsAllocated} bits allocated per sample`);
  const black = photometric === 'MONOCHROME1' ? (signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1) : signed ? -(2 ** (bitsStored - 1)) : 0;
  return {
    rows: read16('Rows', 0),
    columns: read16('Columns', 0),
    samplesPerPixel: read16('SamplesPerPixel', 1),
    bitsAllocated,
    planar: read16('PlanarConfiguration', 0),
    frames: Number(stringValue(ds, tagOf('NumberOfFrames')) ?? 1) || 1,
    black: black & (2 ** bitsAllocated - 1),
  };
}

/** Sets every sample inside `boxes` of one frame (starting at `start` in `target`) to the layout's black. */
function blackOut(target: Buffer, start: number, layout: PixelLayout, planar: number, littleEndian: boolean, boxes: Box[]): void {
  const { rows, columns, samplesPerPixel: samples } = layout;
  const bytesPerSample = layout.bitsAllocated / 8;
  for (const box of boxes) {
    const x0 = Math.max(0, Math.floor(box.x0));
    const y0 = Math.max(0, Math.floor(box.y0));
    const x1 = Math.min(columns, Math.ceil(box.x1));
    const y1 = Math.min(rows, Math.ceil(box.y1));
    for (let sample = 0; sample < samples; sample += 1) {
      for (let y = y0; y < y1; y += 1) {
        for (let x = x0; x < x1; x += 1) {
          const index = planar === 1 ? sample * rows * columns + y * columns + x : (y * columns + x) * samples + sample;
          const at = start + index * bytesPerSample;
          if (bytesPerSample === 1) target[at] = layout.black;
          else if (littleEndian) target.writeUInt16LE(layout.black, at);
          else target.writeUInt16BE(layout.black, at);
        }
      }
    }
  }
}

/**
 * Blacks out `boxes` on every frame of an instance whose pixel data is not compressed, in place: in `file` (the
 * whole Part 10 file in memory that `parsed` was read from) where the pixel data is bulk, else in the element's
 * value. Nothing else changes.
 */
export function redactUncompressed(parsed: ParsedInstance, file: Buffer, boxes: Box[]): void {
  if (parsed.syntax.encapsulated) throw new RedactionUnsupported(`pixel data in transfer syntax ${parsed.syntax.uid} is compressed`);
  if (parsed.syntax.deflated) throw new RedactionUnsupported('the data set is deflated');
  const pixels = parsed.dataset.get(PIXEL_DATA);
  if (!pixels) throw new RedactionUnsupported('the instance has no pixel data');
  const layout = layoutOf(parsed);
  const frameBytes = layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
  // A bulk element's range starts at its header (tag, VR and length: 12 bytes explicit, 8 implicit).
  const header = parsed.syntax.explicitVr ? 12 : 8;
  const target = pixels.bulk ? file : pixels.value;
  const offset = pixels.bulk ? pixels.bulk.offset + header : 0;
  const length = pixels.bulk ? pixels.bulk.length - header : (pixels.value?.length ?? 0);
  if (!target || length < frameBytes * layout.frames) throw new RedactionUnsupported('the pixel data is shorter than its frames');
  for (let frame = 0; frame < layout.frames; frame += 1) blackOut(target, offset + frame * frameBytes, layout, layout.planar, parsed.syntax.littleEndian, boxes);
}

/** The fragments of encapsulated pixel data (bulk, from its element header), the Basic Offset Table first. */
function fragmentsOf(file: Buffer, element: DicomElement): Buffer[] {
  if (!element.bulk) throw new RedactionUnsupported('encapsulated pixel data not found in the file');
  const end = element.bulk.offset + element.bulk.length;
  const fragments: Buffer[] = [];
  // Encapsulated pixel data is always explicit VR little endian: a 12-byte element header, then items.
  for (let at = element.bulk.offset + 12; at + 8 <= end; ) {
    const itemTag = ((file.readUInt16LE(at) << 16) | file.readUInt16LE(at + 2)) >>> 0;
    const length = file.readUInt32LE(at + 4);
    if (itemTag === SEQUENCE_DELIMITER) break;
    if (itemTag !== ITEM || at + 8 + length > end) throw new RedactionUnsupported('the encapsulated pixel data is malformed');
    fragments.push(file.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return fragments;
}

const itemHeader = (tagValue: number, length: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tagValue >>> 16, 0);
  b.writeUInt16LE(tagValue & 0xffff, 2);
  b.writeUInt32LE(length, 4);
  return b;
};

/**
 * Blacks out `boxes` on every frame of RLE Lossless pixel data (one fragment per frame, PS3.5 A.4.2): each frame is
 * decoded, blacked out and encoded again. Returns the new Pixel Data element, header included, to replace the old.
 */
export function redactRle(parsed: ParsedInstance, file: Buffer, boxes: Box[]): Buffer {
  const pixels = parsed.dataset.get(PIXEL_DATA);
  if (!pixels) throw new RedactionUnsupported('the instance has no pixel data');
  const layout = layoutOf(parsed);
  const [, ...frames] = fragmentsOf(file, pixels);
  if (frames.length !== layout.frames) throw new RedactionUnsupported(`${frames.length} fragments for ${layout.frames} frames`);
  const coded = frames.map((fragment) => {
    const native = decodeRleFrame(fragment, layout);
    // Decoded RLE is interleaved little endian, whatever the Planar Configuration says of the source.
    blackOut(native, 0, layout, 0, true, boxes);
    return encodeRleFrame(native, layout);
  });
  const element = Buffer.alloc(12);
  element.writeUInt16LE(0x7fe0, 0);
  element.writeUInt16LE(0x0010, 2);
  element.write('OB', 4, 'latin1');
  element.writeUInt32LE(0xffffffff, 8);
  // A Basic Offset Table with each frame's offset, so readers find frames without walking the fragments.
  const table = Buffer.alloc(4 * coded.length);
  let offset = 0;
  coded.forEach((c, i) => {
    table.writeUInt32LE(offset, 4 * i);
    offset += 8 + c.length;
  });
  return Buffer.concat([element, itemHeader(ITEM, table.length), table, ...coded.flatMap((c) => [itemHeader(ITEM, c.length), c]), itemHeader(SEQUENCE_DELIMITER, 0)]);
}
