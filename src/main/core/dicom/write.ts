import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { syncDirectory, writeFully } from '../durable';
import type { ByteSource } from './source';
import type { DicomDataset, DicomElement } from './model';
import { ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, UNDEFINED_LENGTH, elementOf, groupOf, formatTag, tag } from './tag';
import { isLongVr } from './parse';
import type { TransferSyntax } from './transfer-syntax';
import { textElement } from './values';

/**
 * The encoded instance as a list of pieces: bytes we built, ranges to copy from the source, and a run of pieces
 * to write through raw deflate (the data set of a Deflated Explicit VR Little Endian file).
 */
export type EncodedPiece = Buffer | { offset: number; length: number } | { deflate: EncodedPiece[] };

interface Encoding {
  explicitVr: boolean;
  littleEndian: boolean;
}

class Chunks {
  readonly pieces: Array<Buffer | { offset: number; length: number }> = [];
  private pending: Buffer[] = [];
  push(b: Buffer): void {
    this.pending.push(b);
  }
  bulk(range: { offset: number; length: number }): void {
    this.flush();
    this.pieces.push(range);
  }
  flush(): void {
    if (this.pending.length) this.pieces.push(Buffer.concat(this.pending));
    this.pending = [];
  }
}

function header(enc: Encoding, t: number, vr: string, length: number): Buffer {
  const le = enc.littleEndian;
  const w16 = (b: Buffer, v: number, at: number): void => void (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const w32 = (b: Buffer, v: number, at: number): void => void (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const isDelimiter = groupOf(t) === 0xfffe;
  if (!enc.explicitVr || isDelimiter) {
    const b = Buffer.alloc(8);
    w16(b, groupOf(t), 0);
    w16(b, elementOf(t), 2);
    w32(b, length, 4);
    return b;
  }
  if (isLongVr(vr)) {
    const b = Buffer.alloc(12);
    w16(b, groupOf(t), 0);
    w16(b, elementOf(t), 2);
    b.write(vr, 4, 'latin1');
    w32(b, length, 8);
    return b;
  }
  if (length > 0xffff) throw new Error(`Value of ${formatTag(t)} is too long for VR ${vr}`);
  const b = Buffer.alloc(8);
  w16(b, groupOf(t), 0);
  w16(b, elementOf(t), 2);
  b.write(vr, 4, 'latin1');
  w16(b, length, 6);
  return b;
}

function encodeDataset(dataset: DicomDataset, enc: Encoding, out: Chunks, source: ByteSource | undefined): void {
  const tags = [...dataset.keys()].sort((a, b) => a - b);
  for (const t of tags) {
    // Group lengths other than the meta group's are retired and would be wrong after changes.
    if (elementOf(t) === 0 && groupOf(t) !== 0x0002) continue;
    encodeElement(dataset.get(t)!, enc, out, source);
  }
}

function encodeElement(e: DicomElement, enc: Encoding, out: Chunks, source: ByteSource | undefined): void {
  if (e.items) {
    // Sequences and items are always written with undefined length: valid in every transfer syntax,
    // and no lengths to recompute after de-identification changes the content.
    out.push(header(enc, e.tag, 'SQ', UNDEFINED_LENGTH));
    for (const item of e.items) {
      out.push(header(enc, ITEM, '', UNDEFINED_LENGTH));
      encodeDataset(item, enc, out, source);
      out.push(header(enc, ITEM_DELIMITER, '', 0));
    }
    out.push(header(enc, SEQUENCE_DELIMITER, '', 0));
    return;
  }
  if (e.bulk) {
    if (!source) throw new Error(`No source to copy ${formatTag(e.tag)} from`);
    out.bulk(e.bulk);
    return;
  }
  let value = e.value ?? Buffer.alloc(0);
  if (value.length % 2 === 1) value = Buffer.concat([value, Buffer.from([e.vr === 'UI' || !isTextLike(e.vr) ? 0 : 0x20])]);
  out.push(header(enc, e.tag, e.vr, value.length));
  out.push(value);
}

const isTextLike = (vr: string): boolean => !['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN', 'SL', 'SS', 'UL', 'US', 'FL', 'FD', 'AT', 'SV', 'UV'].includes(vr);

export const IMPLEMENTATION_CLASS_UID = '2.25.163521094137446391813618916387367153937';
export const IMPLEMENTATION_VERSION_NAME = 'DEIDGW_0_1';

/** Builds the Part 10 file meta information for a dataset (always explicit VR little endian). */
export function encodeFileMeta(sopClassUid: string, sopInstanceUid: string, transferSyntaxUid: string): Buffer {
  const meta: DicomDataset = new Map();
  meta.set(tag(2, 1), { tag: tag(2, 1), vr: 'OB', value: Buffer.from([0, 1]) });
  for (const [el, vr, text] of [
    [2, 'UI', sopClassUid],
    [3, 'UI', sopInstanceUid],
    [0x10, 'UI', transferSyntaxUid],
    [0x12, 'UI', IMPLEMENTATION_CLASS_UID],
    [0x13, 'SH', IMPLEMENTATION_VERSION_NAME],
  ] as const) {
    meta.set(tag(2, el), textElement(tag(2, el), vr, text));
  }
  const chunks = new Chunks();
  encodeDataset(meta, { explicitVr: true, littleEndian: true }, chunks, undefined);
  chunks.flush();
  const body = Buffer.concat(chunks.pieces as Buffer[]);
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt16LE(2, 0);
  groupLength.writeUInt16LE(0, 2);
  groupLength.write('UL', 4, 'latin1');
  groupLength.writeUInt16LE(4, 6);
  groupLength.writeUInt32LE(body.length, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, body]);
}

export interface EncodeRequest {
  dataset: DicomDataset;
  syntax: TransferSyntax;
  source: ByteSource;
  sopClassUid: string;
  sopInstanceUid: string;
}

/** Encodes a Part 10 instance in the transfer syntax it came in, as pieces to write in order. */
export function encodeInstance(req: EncodeRequest): EncodedPiece[] {
  const out = new Chunks();
  out.push(encodeFileMeta(req.sopClassUid, req.sopInstanceUid, req.syntax.uid));
  if (req.syntax.deflated) {
    // Compressed as it is written (writePieces), large values read from the source a chunk at a time.
    const inner = new Chunks();
    encodeDataset(req.dataset, req.syntax, inner, req.source);
    inner.flush();
    out.flush();
    return [...out.pieces, { deflate: inner.pieces }];
  }
  encodeDataset(req.dataset, req.syntax, out, req.source);
  out.flush();
  return out.pieces;
}

const DEFLATE_CHUNK = 1 << 20;

/** The plain bytes of a deflated run, a chunk at a time: bulk ranges never held whole. */
function* plainBytesOf(pieces: EncodedPiece[], source: ByteSource): Generator<Buffer> {
  for (const piece of pieces) {
    if (Buffer.isBuffer(piece)) yield piece;
    else if ('deflate' in piece) throw new Error('A deflated run cannot nest another');
    else for (let at = 0; at < piece.length; at += DEFLATE_CHUNK) yield source.read(piece.offset + at, Math.min(DEFLATE_CHUNK, piece.length - at));
  }
}

/** Deflates `pieces` into `out` as a stream; returns the compressed bytes written. */
async function writeDeflated(out: fs.promises.FileHandle, pieces: EncodedPiece[], source: ByteSource): Promise<number> {
  let written = 0;
  await pipeline(Readable.from(plainBytesOf(pieces, source), { highWaterMark: 2 }), zlib.createDeflateRaw(), async (compressed: AsyncIterable<Buffer>) => {
    for await (const chunk of compressed) {
      // A short write is written on from where it stopped, never counted as whole.
      for (let at = 0; at < chunk.length;) {
        const { bytesWritten } = await out.write(chunk, at, chunk.length - at);
        if (bytesWritten === 0) throw new Error('The outbox file accepted no bytes');
        at += bytesWritten;
        written += bytesWritten;
      }
    }
  });
  return written;
}

const COPY_CHUNK = 4 << 20;

/**
 * Writes the pieces to `target` through a temporary file, copying bulk ranges from the source file in
 * 4 MB chunks (memory stays flat for a 1 GB instance), fsyncs, then renames into place and syncs the folder.
 */
export async function writePieces(target: string, pieces: EncodedPiece[], sourcePath: string | undefined, source: ByteSource): Promise<number> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  const out = await fs.promises.open(temp, 'w');
  const input = sourcePath ? await fs.promises.open(sourcePath, 'r') : undefined;
  let written = 0;
  try {
    const buffer = input ? Buffer.allocUnsafe(COPY_CHUNK) : undefined;
    for (const piece of pieces) {
      if (!Buffer.isBuffer(piece) && 'deflate' in piece) {
        written += await writeDeflated(out, piece.deflate, source);
        continue;
      }
      // writeFully: a short write (the disk filling up) goes on or fails; it is never counted as written.
      if (Buffer.isBuffer(piece)) {
        written += await writeFully(out, piece);
        continue;
      }
      if (!input || !buffer) {
        // In pieces too: the source may be a sealed original, where one read of 1 GB would be 1 GB in memory.
        for (let at = piece.offset; at < piece.offset + piece.length; at += COPY_CHUNK) {
          written += await writeFully(out, source.read(at, Math.min(COPY_CHUNK, piece.offset + piece.length - at)));
        }
        continue;
      }
      let remaining = piece.length;
      let at = piece.offset;
      while (remaining > 0) {
        const { bytesRead } = await input.read(buffer, 0, Math.min(COPY_CHUNK, remaining), at);
        if (bytesRead === 0) throw new Error('Source file ended while copying pixel data');
        written += await writeFully(out, buffer.subarray(0, bytesRead));
        remaining -= bytesRead;
        at += bytesRead;
      }
    }
    await out.sync();
  } catch (error) {
    await out.close();
    await input?.close();
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  await out.close();
  await input?.close();
  await fs.promises.rename(temp, target);
  // The job store will point at this file: its name must survive a power cut as well as its bytes.
  await syncDirectory(path.dirname(target));
  return written;
}
