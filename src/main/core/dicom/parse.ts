import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { type ByteSource, type InstanceFiles, BufferSource, FileSource, TruncatedDataError, clearFiles, readableOf } from './source';
import { type ParseLimits, BULK_VALUE_BYTES, parseLimitsOf } from './limits';
import { InflateError, inflateToFile } from './inflate';
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

/** An instance past one of the limits (ParseLimits): well-formed or not, the gateway will not pay for it. */
export class DicomLimitExceeded extends DicomParseError {
  constructor(readonly limit: keyof ParseLimits, message: string) {
    super(message);
    this.name = 'DicomLimitExceeded';
  }
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const KNOWN_VRS = new Set([
  ...LONG_VRS,
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US',
]);
export const isLongVr = (vr: string): boolean => LONG_VRS.has(vr);

/** Elements whose value is bulk binary data (at any depth): kept on disk and copied, never loaded. */
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

/** What this instance has cost so far, against its limits; shared by every cursor over the instance. */
interface Budget {
  limits: ParseLimits;
  elements: number;
  valueBytes: number;
}

interface Cursor {
  source: ByteSource;
  pos: number;
  explicitVr: boolean;
  littleEndian: boolean;
  budget: Budget;
}

/**
 * The parser is a generator that pauses every SLICE elements: a synchronous caller runs it straight through,
 * the intake and the pipeline run it a slice per turn of the event loop so that other associations are served.
 */
type Parsing<T> = Generator<void, T, void>;
const SLICE = 1024;

/** Counts one element (or item, or fragment); true when it is time to let the event loop run. */
function countElement(b: Budget): boolean {
  b.elements += 1;
  if (b.elements > b.limits.maxElementsPerInstance) {
    throw new DicomLimitExceeded('maxElementsPerInstance', `More attributes than limits.maxElementsPerInstance (${b.limits.maxElementsPerInstance})`);
  }
  return b.elements % SLICE === 0;
}

function chargeValue(b: Budget, length: number): void {
  b.valueBytes += length;
  if (b.valueBytes > b.limits.maxInMemoryValueBytes) {
    throw new DicomLimitExceeded('maxInMemoryValueBytes', `Values in memory past limits.maxInMemoryValueBytes (${b.limits.maxInMemoryValueBytes})`);
  }
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
function* parseDataset(c: Cursor, end: number | undefined, depth: number, stopAtDelimiter: boolean): Parsing<DicomDataset> {
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
    if (countElement(c.budget)) yield;
    const element = yield* parseElement(c, t, depth);
    // A tag seen twice is a malformed file; keeping the first would let the second slip by unprocessed.
    if (dataset.has(t)) throw new DicomParseError(`Attribute ${formatTag(t)} appears twice`);
    dataset.set(t, element);
  }
  if (stopAtDelimiter && end === undefined) throw new DicomParseError('Item without its delimiter at the end of the data');
  if (end !== undefined && c.pos !== end) throw new DicomParseError(`Element overruns its enclosing item at offset ${c.pos}`);
  return dataset;
}

function* parseElement(c: Cursor, t: Tag, depth: number): Parsing<DicomElement> {
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
      const items = yield* parseItems(inner, undefined, depth);
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
      if (countElement(c.budget)) yield;
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
    const items = yield* parseItems(inner, valueEnd, depth);
    return { tag: t, vr: 'SQ', items };
  }
  // Inside sequences too: a large value nested in an item is as much a way to fill memory as one at the top.
  if (length >= BULK_VALUE_BYTES && isBulkCandidate(t, vr)) {
    return { tag: t, vr, bulk: { offset: start, length: valueEnd - start } };
  }
  chargeValue(c.budget, length);
  return { tag: t, vr, value: Buffer.from(c.source.read(valueStart, length)) };
}

function looksLikeItem(c: Cursor, at: number): boolean {
  // Private data of VR UN is often an implicit-VR sequence; its first bytes are then an item tag.
  const b = c.source.read(at, 4);
  return b.readUInt16LE(0) === 0xfffe && b.readUInt16LE(2) === 0xe000;
}

function* parseItems(c: Cursor, end: number | undefined, depth: number): Parsing<DicomDataset[]> {
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
    if (countElement(c.budget)) yield;
    if (length === UNDEFINED_LENGTH) {
      items.push(yield* parseDataset(c, undefined, depth + 1, true));
    } else {
      if (c.pos + length > c.source.size) throw new DicomParseError(`Sequence item claims ${length} bytes but the data ends at offset ${c.source.size}`);
      items.push(yield* parseDataset(c, c.pos + length, depth + 1, false));
    }
  }
}

/** Runs a parse to its end at once (callers that need the answer now, on data already within the limits). */
function runNow<T>(parsing: Parsing<T>): T {
  for (;;) {
    const step = parsing.next();
    if (step.done) return step.value;
  }
}

/** Runs a parse a slice per turn of the event loop, so a large data set never holds up the DICOM port. */
async function runInSlices<T>(parsing: Parsing<T>): Promise<T> {
  for (;;) {
    const step = parsing.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Where the data set starts and how it is encoded: the file meta group (always explicit VR little endian). */
function* readHeader(source: ByteSource, budget: Budget): Parsing<{ meta: DicomDataset; datasetStart: number; syntax: TransferSyntax }> {
  const meta: DicomDataset = new Map();
  let datasetStart = 0;
  if (source.size >= 132 && source.read(128, 4).toString('latin1') === 'DICM') {
    const c: Cursor = { source, pos: 132, explicitVr: true, littleEndian: true, budget };
    // The meta group ends where group 0002 ends.
    while (c.pos + 8 <= source.size && u16(c, c.pos) === 0x0002) {
      const t = readTag(c, c.pos);
      if (countElement(budget)) yield;
      meta.set(t, yield* parseElement(c, t, 1));
    }
    datasetStart = c.pos;
  }
  const tsElement = meta.get(tag(0x0002, 0x0010));
  const tsUid = tsElement?.value ? tsElement.value.toString('latin1').replace(/[\0 ]+$/, '') : guessBareSyntax(source);
  const syntax = describeTransferSyntax(tsUid);
  if (!syntax) throw new DicomParseError(`Unsupported transfer syntax ${tsUid.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}`);
  return { meta, datasetStart, syntax };
}

/**
 * A failure of the reader itself (a TypeError, an allocation that failed), not of the data: still refused as data
 * that cannot be read, so one bad instance stops nothing else, but named apart so the fuzz test can tell.
 */
export class DicomReaderDefect extends DicomParseError {
  constructor(cause: unknown) {
    super(`The data set could not be read (reader defect: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)})`, { cause });
    this.name = 'DicomReaderDefect';
  }
}

function asParseError(error: unknown): Error {
  if (error instanceof DicomParseError) return error;
  // The file system's own failures (no space for the inflated scratch file, say) are not the data's: kept as they are.
  if (typeof (error as NodeJS.ErrnoException).syscall === 'string') return error as Error;
  // What malformed data is expected to cause: data that ends early, bytes that are not deflate.
  if (error instanceof TruncatedDataError || error instanceof InflateError) return new DicomParseError(error.message, { cause: error });
  return new DicomReaderDefect(error);
}

/**
 * Reads a DICOM Part 10 file (or a bare dataset, as some devices write) at once. A deflated data set is inflated in
 * memory, up to limits.maxInflatedBytes: use openInstanceFile for files a sender wrote (it inflates to disk).
 */
export function parseInstanceFile(file: string, limits?: Partial<ParseLimits>): ParsedInstance {
  return parseInstanceNow(new FileSource(file), parseLimitsOf(limits));
}

export function parseInstanceBuffer(buffer: Buffer, limits?: Partial<ParseLimits>): ParsedInstance {
  return parseInstanceNow(new BufferSource(buffer), parseLimitsOf(limits));
}

function parseInstanceNow(source: ByteSource, limits: ParseLimits): ParsedInstance {
  let body: ByteSource = source;
  try {
    const budget: Budget = { limits, elements: 0, valueBytes: 0 };
    const { meta, datasetStart, syntax } = runNow(readHeader(source, budget));
    let bodyStart = datasetStart;
    if (syntax.deflated) {
      body = new BufferSource(inflateInMemory(source.read(datasetStart, source.size - datasetStart), limits.maxInflatedBytes));
      source.close();
      bodyStart = 0;
    }
    const dataset = runNow(parseDataset({ source: body, pos: bodyStart, explicitVr: syntax.explicitVr, littleEndian: syntax.littleEndian, budget }, body.size, 0, false));
    return { meta, dataset, syntax, source: body, close: () => body.close() };
  } catch (error) {
    source.close();
    body.close();
    throw asParseError(error);
  }
}

function inflateInMemory(deflated: Buffer, maxBytes: number): Buffer {
  try {
    return zlib.inflateRawSync(deflated, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw inflatedTooLarge(maxBytes);
    throw new DicomParseError(`The deflated data set cannot be inflated: ${(error as Error).message}`, { cause: error });
  }
}

export const inflatedTooLarge = (maxBytes: number): DicomLimitExceeded =>
  new DicomLimitExceeded('maxInflatedBytes', `Inflates past limits.maxInflatedBytes (${maxBytes} bytes)`);

/**
 * Reads an instance a sender wrote, without holding up the event loop and with memory bounded by the limits:
 * a deflated data set is inflated as a stream into a scratch file beside it (deleted by close()), stopping at
 * limits.maxInflatedBytes, and the data set is parsed a slice at a time; large values stay in the file.
 */
export async function openInstanceFile(file: string, limits?: Partial<ParseLimits>, files: InstanceFiles = clearFiles): Promise<ParsedInstance> {
  const bounds = parseLimitsOf(limits);
  const source = files.open(file);
  let body: ByteSource = source;
  let scratch: string | undefined;
  const release = (): void => {
    body.close();
    if (scratch) fs.rmSync(scratch, { force: true });
  };
  try {
    const budget: Budget = { limits: bounds, elements: 0, valueBytes: 0 };
    const { meta, datasetStart, syntax } = await runInSlices(readHeader(source, budget));
    let bodyStart = datasetStart;
    if (syntax.deflated) {
      // The inflated copy is written and read the way the original is (sealed, for the spool).
      scratch = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomUUID()}.inflated`);
      await inflateToFile(readableOf(source, datasetStart), files.createWriteStream(scratch), scratch, bounds.maxInflatedBytes, inflatedTooLarge);
      source.close();
      body = files.open(scratch);
      bodyStart = 0;
    }
    const dataset = await runInSlices(parseDataset({ source: body, pos: bodyStart, explicitVr: syntax.explicitVr, littleEndian: syntax.littleEndian, budget }, body.size, 0, false));
    let closed = false;
    return {
      meta,
      dataset,
      syntax,
      source: body,
      close: () => {
        if (closed) return;
        closed = true;
        release();
      },
    };
  } catch (error) {
    source.close();
    release();
    throw asParseError(error);
  }
}

/** A dataset without file meta: tell implicit from explicit VR little endian by its first element. */
function guessBareSyntax(source: ByteSource): string {
  if (source.size < 8) throw new DicomParseError('Too short to be DICOM');
  const vr = source.read(4, 2).toString('latin1');
  return KNOWN_VRS.has(vr) ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN;
}
