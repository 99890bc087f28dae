import zlib from 'node:zlib';
import { type ByteSource, BufferSource, FileSource } from './source';
import {
  type Tag,
  ITEM,
  ITEM_DELIMITER,
  SEQUENCE_DELIMITER,
  UNDEFINED_LENGTH,
  groupOf,
  formatTag,
  tag,
} from './tag';
import { vrOf } from './dictionary';
import {
  type TransferSyntax,
  describeTransferSyntax,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from './transfer-syntax';
import type { DicomDataset, DicomElement } from './model';

export class DicomParseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DicomParseError';
  }
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const KNOWN_VRS = new Set([
  ...LONG_VRS,
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US',
]);
export const isLongVr = (vr: string): boolean => LONG_VRS.has(vr);

/** Elements at the top level whose value is bulk image data: kept on disk and copied, never loaded. */
const BULK_THRESHOLD = 256 * 1024;
const isBulkCandidate = (t: Tag, vr: string): boolean =>
  groupOf(t) === 0x7fe0 || ((vr === 'OB' || vr === 'OW' || vr === 'OF' || vr === 'OD' || vr === 'UN') && groupOf(t) !== 0x0002);

export interface ParsedInstance {
  meta: DicomDataset;
  dataset: DicomDataset;
  syntax: TransferSyntax;
  /** The bytes that bulk elements point into (the file, or the inflated dataset). */
  source: ByteSource;
  close(): void;
}

interface Cursor {
  source: ByteSource;
  pos: number;
  explicitVr: boolean;
  littleEndian: boolean;
}

function u16(c: Cursor, at: number): number {
  const b = c.source.read(at, 2);
  return c.littleEndian ? b.readUInt16LE(0) : b.readUInt16BE(0);
}
function u32(c: Cursor, at: number): number {
  const b = c.source.read(at, 4);
  return c.littleEndian ? b.readUInt32LE(0) : b.readUInt32BE(0);
}
function readTag(c: Cursor, at: number): Tag {
  return tag(u16(c, at), u16(c, at + 2));
}

/** Parses elements from c.pos until `end` (or a delimiter when end is undefined). */
function parseDataset(c: Cursor, end: number | undefined, depth: number, stopAtDelimiter: boolean): DicomDataset {
  const dataset: DicomDataset = new Map();
  while (end === undefined ? c.pos < c.source.size : c.pos < end) {
    const start = c.pos;
    const t = readTag(c, start);
    if (t === ITEM_DELIMITER) {
      if (!stopAtDelimiter) throw new DicomParseError(`Unexpected item delimiter at offset ${start}`);
      c.pos = start + 8;
      return dataset;
    }
    if (t === ITEM || t === SEQUENCE_DELIMITER) {
      throw new DicomParseError(`Unexpected ${formatTag(t)} at offset ${start}`);
    }
    const element = parseElement(c, t, depth);
    // A tag seen twice is a malformed file; keeping the first would let the second slip by unprocessed.
    if (dataset.has(t)) throw new DicomParseError(`Attribute ${formatTag(t)} appears twice`);
    dataset.set(t, element);
  }
  if (stopAtDelimiter && end === undefined) throw new DicomParseError('Item without its delimiter at the end of the data');
  if (end !== undefined && c.pos !== end) throw new DicomParseError(`Element overruns its enclosing item at offset ${c.pos}`);
  return dataset;
}

function parseElement(c: Cursor, t: Tag, depth: number): DicomElement {
  const start = c.pos;
  let vr: string;
  let length: number;
  let valueStart: number;
  if (c.explicitVr) {
    vr = c.source.read(start + 4, 2).toString('latin1');
    if (!KNOWN_VRS.has(vr)) throw new DicomParseError(`Attribute ${formatTag(t)} has an invalid VR "${vr.replace(/[^\x20-\x7e]/g, '?')}"`);
    if (LONG_VRS.has(vr)) {
      length = u32(c, start + 8);
      valueStart = start + 12;
    } else {
      length = u16(c, start + 6);
      valueStart = start + 8;
    }
  } else {
    vr = vrOf(t);
    length = u32(c, start + 4);
    valueStart = start + 8;
  }

  if (length === UNDEFINED_LENGTH) {
    if (vr === 'SQ' || vr === 'UN' || (!c.explicitVr && vr !== 'OB' && vr !== 'OW')) {
      // A UN of undefined length holds a sequence encoded in implicit VR little endian (PS3.5 6.2.2).
      const inner: Cursor = vr === 'UN' && c.explicitVr ? { ...c, pos: valueStart, explicitVr: false, littleEndian: true } : { ...c, pos: valueStart };
      const items = parseItems(inner, undefined, depth);
      c.pos = inner.pos;
      return { tag: t, vr: 'SQ', items };
    }
    // Encapsulated pixel data: walk the fragment headers to find its end, without reading the fragments.
    let pos = valueStart;
    for (;;) {
      const itemTag = readTag(c, pos);
      const itemLength = u32(c, pos + 4);
      pos += 8;
      if (itemTag === SEQUENCE_DELIMITER) break;
      if (itemTag !== ITEM || itemLength === UNDEFINED_LENGTH) {
        throw new DicomParseError(`Encapsulated ${formatTag(t)} has a malformed fragment at offset ${pos - 8}`);
      }
      pos += itemLength;
      if (pos > c.source.size) throw new DicomParseError(`Encapsulated ${formatTag(t)} is truncated`);
    }
    c.pos = pos;
    return { tag: t, vr, bulk: { offset: start, length: pos - start } };
  }

  const valueEnd = valueStart + length;
  if (valueEnd > c.source.size) {
    throw new DicomParseError(`Attribute ${formatTag(t)} claims ${length} bytes but the data ends at offset ${c.source.size}`);
  }
  c.pos = valueEnd;

  if (vr === 'SQ' || (vr === 'UN' && length >= 8 && looksLikeItem(c, valueStart))) {
    const inner: Cursor = vr === 'UN' ? { ...c, pos: valueStart, explicitVr: false, littleEndian: true } : { ...c, pos: valueStart };
    const items = parseItems(inner, valueEnd, depth);
    return { tag: t, vr: 'SQ', items };
  }
  if (depth === 0 && length >= BULK_THRESHOLD && isBulkCandidate(t, vr)) {
    return { tag: t, vr, bulk: { offset: start, length: valueEnd - start } };
  }
  return { tag: t, vr, value: Buffer.from(c.source.read(valueStart, length)) };
}

function looksLikeItem(c: Cursor, at: number): boolean {
  // Private data of VR UN is often an implicit-VR sequence; its first bytes are then an item tag.
  const b = c.source.read(at, 4);
  return b.readUInt16LE(0) === 0xfffe && b.readUInt16LE(2) === 0xe000;
}

function parseItems(c: Cursor, end: number | undefined, depth: number): DicomDataset[] {
  const items: DicomDataset[] = [];
  for (;;) {
    if (end !== undefined && c.pos >= end) {
      if (c.pos !== end) throw new DicomParseError(`Sequence overruns its length at offset ${c.pos}`);
      return items;
    }
    const t = readTag(c, c.pos);
    const length = u32(c, c.pos + 4);
    c.pos += 8;
    if (t === SEQUENCE_DELIMITER) return items;
    if (t !== ITEM) throw new DicomParseError(`Expected a sequence item at offset ${c.pos - 8}, found ${formatTag(t)}`);
    if (depth > 32) throw new DicomParseError('Sequences nested deeper than 32 levels');
    if (length === UNDEFINED_LENGTH) {
      items.push(parseDataset(c, undefined, depth + 1, true));
    } else {
      items.push(parseDataset(c, c.pos + length, depth + 1, false));
    }
  }
}

/** Reads a DICOM Part 10 file (or a bare dataset, as some devices write). */
export function parseInstanceFile(path: string): ParsedInstance {
  return parseInstance(new FileSource(path));
}

export function parseInstanceBuffer(buffer: Buffer): ParsedInstance {
  return parseInstance(new BufferSource(buffer));
}

function parseInstance(source: ByteSource): ParsedInstance {
  try {
    let meta: DicomDataset = new Map();
    let datasetStart = 0;
    if (source.size >= 132 && source.read(128, 4).toString('latin1') === 'DICM') {
      const c: Cursor = { source, pos: 132, explicitVr: true, littleEndian: true };
      // The meta group is always explicit VR little endian; it ends where group 0002 ends.
      while (c.pos + 8 <= source.size && u16(c, c.pos) === 0x0002) {
        const t = readTag(c, c.pos);
        meta.set(t, parseElement(c, t, 1));
      }
      datasetStart = c.pos;
    } else {
      meta = new Map();
    }
    const tsElement = meta.get(tag(0x0002, 0x0010));
    const tsUid = tsElement?.value ? tsElement.value.toString('latin1').replace(/[\0 ]+$/, '') : guessBareSyntax(source);
    const syntax = describeTransferSyntax(tsUid);
    if (!syntax) throw new DicomParseError(`Unsupported transfer syntax ${tsUid}`);

    let body: ByteSource = source;
    let bodyStart = datasetStart;
    if (syntax.deflated) {
      const inflated = zlib.inflateRawSync(source.read(datasetStart, source.size - datasetStart));
      source.close();
      body = new BufferSource(inflated);
      bodyStart = 0;
    }
    const c: Cursor = { source: body, pos: bodyStart, explicitVr: syntax.explicitVr, littleEndian: syntax.littleEndian };
    const dataset = parseDataset(c, body.size, 0, false);
    return { meta, dataset, syntax, source: body, close: () => body.close() };
  } catch (error) {
    source.close();
    if (error instanceof DicomParseError) throw error;
    throw new DicomParseError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** A dataset without file meta: tell implicit from explicit VR little endian by its first element. */
function guessBareSyntax(source: ByteSource): string {
  if (source.size < 8) throw new DicomParseError('Too short to be DICOM');
  const vr = source.read(4, 2).toString('latin1');
  return KNOWN_VRS.has(vr) ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN;
}
