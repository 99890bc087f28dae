import { PIXEL_DATA, stringValue, tagOf, type ParsedInstance } from '../dicom';
import type { Box } from './raster';

export class RedactionUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedactionUnsupported';
  }
}

/**
 * Blacks out `boxes` on every frame of an instance whose pixel data is not compressed, in place: in `file` (the
 * whole Part 10 file in memory that `parsed` was read from) where the pixel data is bulk, else in the element's
 * value. Each pixel inside a box gets the value displayed as black — 0 for MONOCHROME2 and colour, the largest
 * stored value for MONOCHROME1, the smallest for signed data. Nothing else changes.
 * Compressed pixel data is refused: it would need a decoder that gives back stored values, which the gateway lacks.
 */
export function redactUncompressed(parsed: ParsedInstance, file: Buffer, boxes: Box[]): void {
  if (parsed.syntax.encapsulated) throw new RedactionUnsupported(`pixel data in transfer syntax ${parsed.syntax.uid} is compressed`);
  if (parsed.syntax.deflated) throw new RedactionUnsupported('the data set is deflated');
  const ds = parsed.dataset;
  const pixels = ds.get(PIXEL_DATA);
  if (!pixels) throw new RedactionUnsupported('the instance has no pixel data');
  // Little endian for every syntax but explicit big endian; US values are read accordingly.
  const little = parsed.syntax.littleEndian;
  const read16 = (keyword: string, fallback: number): number => {
    const element = ds.get(tagOf(keyword));
    if (!element?.value || element.value.length < 2) return fallback;
    return little ? element.value.readUInt16LE(0) : element.value.readUInt16BE(0);
  };
  const rows = read16('Rows', 0);
  const columns = read16('Columns', 0);
  const bitsAllocated = read16('BitsAllocated', 16);
  const bitsStored = read16('BitsStored', bitsAllocated);
  const samples = read16('SamplesPerPixel', 1);
  const planar = read16('PlanarConfiguration', 0);
  const signed = read16('PixelRepresentation', 0) === 1;
  const frames = Number(stringValue(ds, tagOf('NumberOfFrames')) ?? 1) || 1;
  const photometric = stringValue(ds, tagOf('PhotometricInterpretation'))?.trim() ?? 'MONOCHROME2';
  if (bitsAllocated !== 8 && bitsAllocated !== 16) throw new RedactionUnsupported(`${bitsAllocated} bits allocated per sample`);
  const bytesPerSample = bitsAllocated / 8;
  const frameBytes = rows * columns * samples * bytesPerSample;
  // A bulk element's range starts at its header (tag, VR and length: 12 bytes explicit, 8 implicit).
  const header = parsed.syntax.explicitVr ? 12 : 8;
  const target = pixels.bulk ? file : pixels.value;
  const offset = pixels.bulk ? pixels.bulk.offset + header : 0;
  const length = pixels.bulk ? pixels.bulk.length - header : (pixels.value?.length ?? 0);
  if (!target || length < frameBytes * frames) throw new RedactionUnsupported('the pixel data is shorter than its frames');

  const black = photometric === 'MONOCHROME1' ? (signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1) : signed ? -(2 ** (bitsStored - 1)) : 0;
  const stored = black & (2 ** bitsAllocated - 1);
  for (let frame = 0; frame < frames; frame += 1) {
    const frameStart = offset + frame * frameBytes;
    for (const box of boxes) {
      const x0 = Math.max(0, Math.floor(box.x0));
      const y0 = Math.max(0, Math.floor(box.y0));
      const x1 = Math.min(columns, Math.ceil(box.x1));
      const y1 = Math.min(rows, Math.ceil(box.y1));
      for (let sample = 0; sample < samples; sample += 1) {
        for (let y = y0; y < y1; y += 1) {
          for (let x = x0; x < x1; x += 1) {
            const index = planar === 1 ? sample * rows * columns + y * columns + x : (y * columns + x) * samples + sample;
            const at = frameStart + index * bytesPerSample;
            if (bytesPerSample === 1) target[at] = stored;
            else if (little) target.writeUInt16LE(stored, at);
            else target.writeUInt16BE(stored, at);
          }
        }
      }
    }
  }
}
