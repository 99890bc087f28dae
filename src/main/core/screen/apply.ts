import { BufferSource } from '../dicom/source';
import { PIXEL_DATA, encodeInstance, parseInstanceBuffer, stringValue, tagOf, textElement, writePieces, type DicomDataset } from '../dicom';
import { RLE_LOSSLESS, redactRle, redactUncompressed } from './redact';
import type { Box } from './raster';

const T = {
  BurnedInAnnotation: tagOf('BurnedInAnnotation'),
  DeidentificationMethodCodeSequence: tagOf('DeidentificationMethodCodeSequence'),
  CodeValue: tagOf('CodeValue'),
  CodingSchemeDesignator: tagOf('CodingSchemeDesignator'),
  CodeMeaning: tagOf('CodeMeaning'),
  SOPClassUID: tagOf('SOPClassUID'),
  SOPInstanceUID: tagOf('SOPInstanceUID'),
};

/** PS3.16 CID 7050: the pixel data was cleaned of burned-in identifying text. */
export const CLEAN_PIXEL_DATA_OPTION: readonly [string, string] = ['113101', 'Clean Pixel Data Option'];

/**
 * Says in the header what redaction did: Burned In Annotation NO (the identifying text is gone) and the Clean Pixel
 * Data Option among the de-identification methods. Lossy Image Compression stays as it was: nothing was re-encoded.
 */
function markCleaned(ds: DicomDataset): void {
  ds.set(T.BurnedInAnnotation, textElement(T.BurnedInAnnotation, 'CS', 'NO'));
  const methods = ds.get(T.DeidentificationMethodCodeSequence);
  const items = methods?.items ?? [];
  const has = items.some((item) => stringValue(item, T.CodeValue) === CLEAN_PIXEL_DATA_OPTION[0]);
  if (has) return;
  const code: DicomDataset = new Map([
    [T.CodeValue, textElement(T.CodeValue, 'SH', CLEAN_PIXEL_DATA_OPTION[0])],
    [T.CodingSchemeDesignator, textElement(T.CodingSchemeDesignator, 'SH', 'DCM')],
    [T.CodeMeaning, textElement(T.CodeMeaning, 'LO', CLEAN_PIXEL_DATA_OPTION[1])],
  ]);
  ds.set(T.DeidentificationMethodCodeSequence, { tag: T.DeidentificationMethodCodeSequence, vr: 'SQ', items: [...items, code] });
}

/**
 * The redacted instance as a new Part 10 file: `boxes` blacked out on every frame, the header marked, in its own
 * transfer syntax (uncompressed, or RLE decoded and encoded again; other compressions are refused). Built in memory,
 * so it can be verified before it is written.
 */
export function redactedInstance(file: Buffer, boxes: Box[]): Buffer {
  let bytes = Buffer.from(file);
  const parsed = parseInstanceBuffer(bytes);
  if (parsed.syntax.uid === RLE_LOSSLESS) {
    // The new pixel data is longer or shorter than the old: appended to the bytes the writer copies from.
    const element = redactRle(parsed, bytes, boxes);
    parsed.dataset.set(PIXEL_DATA, { tag: PIXEL_DATA, vr: 'OB', bulk: { offset: bytes.length, length: element.length } });
    bytes = Buffer.concat([bytes, element]);
  } else {
    redactUncompressed(parsed, bytes, boxes);
  }
  markCleaned(parsed.dataset);
  const sopClassUid = stringValue(parsed.dataset, T.SOPClassUID) ?? '';
  const sopInstanceUid = stringValue(parsed.dataset, T.SOPInstanceUID) ?? '';
  const source = new BufferSource(bytes);
  const pieces = encodeInstance({ dataset: parsed.dataset, syntax: parsed.syntax, source, sopClassUid, sopInstanceUid });
  return Buffer.concat(
    pieces.map((p) => {
      if (Buffer.isBuffer(p)) return p;
      // Deflated data sets were refused by redactUncompressed: every piece is bytes or a range of the source.
      if ('deflate' in p) throw new Error('a redacted instance is never deflated');
      return source.read(p.offset, p.length);
    }),
  );
}

/** Replaces `file` by `bytes` durably (temporary file, fsync, rename, folder sync). */
export async function replaceFile(file: string, bytes: Buffer): Promise<void> {
  await writePieces(file, [bytes], undefined, new BufferSource(bytes));
}
