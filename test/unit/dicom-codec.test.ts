import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DicomDataset,
  DicomParseError,
  encodeInstance,
  parseInstanceFile,
  stringValue,
  tagOf,
  writePieces,
  PIXEL_DATA,
} from '../../src/main/core/dicom';
import { PYDICOM_TEST_FILES } from '../support/dicom-tools';

/** Files of every transfer syntax the gateway accepts, from Debian's python3-pydicom. */
const READABLE = [
  'CT_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'ExplVR_BigEnd.dcm', 'image_dfl.dcm',
  'MR_small_RLE.dcm', 'SC_rgb_rle.dcm', 'JPEG2000.dcm', 'MR_small_jp2klossless.dcm', 'GDCMJ2K_TextGBR.dcm',
  'SC_rgb_jpeg_dcmtk.dcm', 'JPEG-lossy.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'nested_priv_SQ.dcm', 'priv_SQ.dcm',
  'UN_sequence.dcm', 'rtplan.dcm', 'test-SR.dcm', 'waveform_ecg.dcm', 'ExplVR_LitEndNoMeta.dcm',
];

function shape(ds: DicomDataset): unknown {
  return [...ds.entries()]
    .filter(([t]) => (t & 0xffff) !== 0) // group lengths are dropped on write
    .sort(([a], [b]) => a - b)
    .map(([t, e]) => [t, e.items ? e.items.map(shape) : e.bulk ? `bulk:${e.bulk.length}` : e.value?.toString('hex').replace(/(00|20)$/, '')]);
}

describe('DICOM reader and writer', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'codec-'));

  for (const name of READABLE) {
    it(`reads ${name} and writes it back with the same content, in the same transfer syntax`, async () => {
      const file = path.join(PYDICOM_TEST_FILES, name);
      const first = parseInstanceFile(file);
      const sopClassUid = stringValue(first.dataset, tagOf('SOPClassUID')) ?? '1.2.3';
      const sopInstanceUid = stringValue(first.dataset, tagOf('SOPInstanceUID')) ?? '1.2.3.4';
      const target = path.join(out, name);
      await writePieces(target, encodeInstance({ dataset: first.dataset, syntax: first.syntax, source: first.source, sopClassUid, sopInstanceUid }), first.syntax.deflated ? undefined : file, first.source);
      const second = parseInstanceFile(target);
      expect(second.syntax.uid).toBe(first.syntax.uid);
      expect(shape(second.dataset)).toEqual(shape(first.dataset));
      const px1 = first.dataset.get(PIXEL_DATA);
      const px2 = second.dataset.get(PIXEL_DATA);
      if (px1?.bulk && px2?.bulk) {
        expect(second.source.read(px2.bulk.offset, px2.bulk.length).equals(first.source.read(px1.bulk.offset, px1.bulk.length))).toBe(true);
      }
      first.close();
      second.close();
    });
  }

  it.each(['MR_truncated.dcm', 'rtplan_truncated.dcm'])('rejects the malformed file %s with a specific error', (name) => {
    expect(() => parseInstanceFile(path.join(PYDICOM_TEST_FILES, name))).toThrow(DicomParseError);
  });

  it('reads the header of a large instance without loading its pixel data', () => {
    const file = path.join(out, 'large.dcm');
    const header = fs.readFileSync(path.join(PYDICOM_TEST_FILES, 'CT_small.dcm'));
    // Same header, pixel data grown to 200 MB: sparse on disk, so this costs no time.
    const before = header.subarray(0, header.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57])));
    const big = 200 * 1024 * 1024;
    const head = Buffer.concat([before, Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0, 0]), Buffer.alloc(4)]);
    head.writeUInt32LE(big, head.length - 4);
    fs.writeFileSync(file, head);
    fs.truncateSync(file, head.length + big);
    const rssBefore = process.memoryUsage().rss;
    const large = parseInstanceFile(file);
    expect(large.dataset.get(PIXEL_DATA)?.bulk?.length).toBe(big + 12);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(50 * 1024 * 1024);
    large.close();
  });
});
