import fs from 'node:fs';
import { describeTransferSyntax, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../dicom/transfer-syntax';

/** The Media Storage SOP Class of a DICOMDIR (PS3.10 7.2, PS3.4 Annex F): a directory, not an instance to send. */
export const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/**
 * Where a file's data set starts and how it is encoded, read from its first bytes. Archives hold Part 10 files
 * with the 128-byte preamble, files whose writer left the preamble out (meta group first, with or without the
 * "DICM" prefix), and bare data sets with no meta at all (as some devices wrote them to disk).
 */
export type FileLayout =
  | {
      kind: 'dicom';
      datasetStart: number;
      transferSyntaxUid: string;
      sopClassUid?: string;
      sopInstanceUid?: string;
      hasMeta: boolean;
      /** The 128-byte preamble and "DICM" are there: the project's parser reads the file as it is. */
      preamble: boolean;
    }
  | { kind: 'not-dicom'; why: string };

const HEAD_BYTES = 64 * 1024;
const SHORT_VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US']);
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

const uidText = (b: Buffer): string => b.toString('latin1').replace(/[\0 ]+$/, '');

/** Reads the file meta group (explicit VR little endian, group 0002) from `at`; undefined if it is not one. */
function readMeta(head: Buffer, at: number): { end: number; values: Map<number, string> } | undefined {
  const values = new Map<number, string>();
  let pos = at;
  while (pos + 8 <= head.length && head.readUInt16LE(pos) === 0x0002) {
    const element = head.readUInt16LE(pos + 2);
    const vr = head.toString('latin1', pos + 4, pos + 6);
    let length: number;
    let valueStart: number;
    if (LONG_VRS.has(vr)) {
      if (pos + 12 > head.length) return undefined;
      length = head.readUInt32LE(pos + 8);
      valueStart = pos + 12;
    } else if (SHORT_VRS.has(vr)) {
      length = head.readUInt16LE(pos + 6);
      valueStart = pos + 8;
    } else return undefined;
    if (valueStart + length > head.length) return undefined;
    if (vr === 'UI') values.set(element, uidText(head.subarray(valueStart, valueStart + length)));
    pos = valueStart + length;
  }
  return pos > at ? { end: pos, values } : undefined;
}

/**
 * A data set without meta: plausible if its first element is a low even group (the identifying groups 0008/0010
 * come first in a well-formed file) with a sane length, in explicit or implicit VR little endian.
 */
function bareSyntax(head: Buffer): string | undefined {
  if (head.length < 8) return undefined;
  const group = head.readUInt16LE(0);
  if (group === 0 || group > 0x0028 || group % 2 === 1) return undefined;
  const vr = head.toString('latin1', 4, 6);
  if (SHORT_VRS.has(vr) || LONG_VRS.has(vr)) return EXPLICIT_VR_LITTLE_ENDIAN;
  const length = head.readUInt32LE(4);
  return length < 1024 ? IMPLICIT_VR_LITTLE_ENDIAN : undefined;
}

export async function readFileLayout(file: string): Promise<FileLayout> {
  const handle = await fs.promises.open(file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  let metaAt: number | undefined;
  if (head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM') metaAt = 132;
  else if (head.length >= 4 && head.toString('latin1', 0, 4) === 'DICM') metaAt = 4;
  else if (head.length >= 8 && head.readUInt16LE(0) === 0x0002) metaAt = 0;
  if (metaAt !== undefined) {
    const meta = readMeta(head, metaAt);
    if (!meta) return { kind: 'not-dicom', why: 'the file meta information cannot be read' };
    const transferSyntaxUid = meta.values.get(0x0010);
    if (!transferSyntaxUid) return { kind: 'not-dicom', why: 'the file meta information names no transfer syntax' };
    if (!describeTransferSyntax(transferSyntaxUid)) return { kind: 'not-dicom', why: `unsupported transfer syntax ${transferSyntaxUid.slice(0, 64)}` };
    return { kind: 'dicom', datasetStart: meta.end, transferSyntaxUid, sopClassUid: meta.values.get(0x0002), sopInstanceUid: meta.values.get(0x0003), hasMeta: true, preamble: metaAt === 132 };
  }
  const syntax = bareSyntax(head);
  if (!syntax) return { kind: 'not-dicom', why: 'neither a DICOM file nor a DICOM data set' };
  return { kind: 'dicom', datasetStart: 0, transferSyntaxUid: syntax, hasMeta: false, preamble: false };
}
