/**
 * The RLE Lossless transfer syntax's pixel encoding (PS3.5 Annex G), both ways, so that burned-in text can be
 * blacked out in an RLE image and the image written back in its own syntax: each frame is a 64-byte header (the
 * number of segments and their offsets) and one PackBits-coded segment per byte of each sample, most significant
 * byte first. Native frames here are little endian, samples interleaved (colour-by-pixel).
 */

export class RleDataError extends Error {
  constructor(message: string) {
    super(`RLE pixel data: ${message}`);
    this.name = 'RleDataError';
  }
}

export interface FrameLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

const segmentsOf = (layout: FrameLayout): number => layout.samplesPerPixel * (layout.bitsAllocated / 8);

/** Decodes one segment into exactly `length` bytes (PackBits: n ≥ 0 copies n+1 bytes, −127…−1 repeats 1−n times). */
function decodeSegment(data: Buffer, start: number, end: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let at = 0;
  let i = start;
  while (at < length && i < end) {
    const n = (data[i++]! << 24) >> 24;
    if (n >= 0) {
      const count = Math.min(n + 1, length - at, end - i);
      data.copy(out, at, i, i + count);
      at += count;
      i += n + 1;
    } else if (n !== -128) {
      const count = Math.min(1 - n, length - at);
      if (i >= end) break;
      out.fill(data[i++]!, at, at + count);
      at += count;
    }
  }
  if (at < length) throw new RleDataError(`a segment decodes to ${at} of ${length} bytes`);
  return out;
}

/** Decodes one frame (one fragment) into native little-endian, interleaved samples. */
export function decodeRleFrame(fragment: Buffer, layout: FrameLayout): Buffer {
  if (fragment.length < 64) throw new RleDataError('the frame is shorter than its header');
  const segments = fragment.readUInt32LE(0);
  const bytesPerSample = layout.bitsAllocated / 8;
  if (segments !== segmentsOf(layout)) throw new RleDataError(`${segments} segments where ${segmentsOf(layout)} were expected`);
  const pixels = layout.rows * layout.columns;
  const out = Buffer.alloc(pixels * layout.samplesPerPixel * bytesPerSample);
  for (let s = 0; s < segments; s += 1) {
    const start = fragment.readUInt32LE(4 + 4 * s);
    const end = s + 1 < segments ? fragment.readUInt32LE(8 + 4 * s) : fragment.length;
    if (start < 64 || end > fragment.length || end < start) throw new RleDataError(`segment ${s + 1} has a bad offset`);
    const plane = decodeSegment(fragment, start, end, pixels);
    // Segment order: sample by sample, and within a sample its most significant byte first.
    const sample = Math.floor(s / bytesPerSample);
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    for (let p = 0; p < pixels; p += 1) out[(p * layout.samplesPerPixel + sample) * bytesPerSample + byte] = plane[p]!;
  }
  return out;
}

/** PackBits-codes one row of a byte plane: runs of 3 or more equal bytes as repeats, the rest as literals. */
function encodeRow(plane: Buffer, start: number, end: number, out: number[]): void {
  let i = start;
  while (i < end) {
    let run = 1;
    while (i + run < end && run < 128 && plane[i + run] === plane[i]) run += 1;
    if (run >= 3) {
      out.push(257 - run, plane[i]!);
      i += run;
      continue;
    }
    const from = i;
    while (i < end && i - from < 128 && !(i + 2 < end && plane[i] === plane[i + 1] && plane[i] === plane[i + 2])) i += 1;
    out.push(i - from - 1);
    for (let k = from; k < i; k += 1) out.push(plane[k]!);
  }
}

/** Encodes one frame of native little-endian, interleaved samples; each row is coded on its own (PS3.5 G.3.1). */
export function encodeRleFrame(native: Buffer, layout: FrameLayout): Buffer {
  const segments = segmentsOf(layout);
  const bytesPerSample = layout.bitsAllocated / 8;
  const pixels = layout.rows * layout.columns;
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments, 0);
  const bodies: Buffer[] = [];
  let offset = 64;
  const plane = Buffer.alloc(pixels);
  for (let s = 0; s < segments; s += 1) {
    const sample = Math.floor(s / bytesPerSample);
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    for (let p = 0; p < pixels; p += 1) plane[p] = native[(p * layout.samplesPerPixel + sample) * bytesPerSample + byte]!;
    const coded: number[] = [];
    for (let row = 0; row < layout.rows; row += 1) encodeRow(plane, row * layout.columns, (row + 1) * layout.columns, coded);
    // Each segment has an even length.
    if (coded.length % 2 === 1) coded.push(0x80);
    header.writeUInt32LE(offset, 4 + 4 * s);
    bodies.push(Buffer.from(coded));
    offset += coded.length;
  }
  return Buffer.concat([header, ...bodies]);
}
