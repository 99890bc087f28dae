import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DicomElement, decodeText, parseInstanceFile, specificCharacterSetOf, tagOf, textElement } from '../../src/main/core/dicom';
import { encodeText } from '../../src/main/core/deid/charset';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

// ISO 8859-5 puts А..я (U+0410..U+044F) at 0xB0..0xEF: written by hand, independent of the code under test.
const iso88595 = (s: string): Buffer => Buffer.from([...s].map((ch) => (ch.charCodeAt(0) >= 0x410 ? ch.charCodeAt(0) - 0x410 + 0xb0 : ch.charCodeAt(0))));
const raw = (keyword: string, vr: string, bytes: Buffer): DicomElement => ({ tag: tagOf(keyword), vr, value: bytes.length % 2 ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes });
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const description = (ds: Map<number, DicomElement>): string => ds.get(tagOf('StudyDescription'))!.value!.toString('hex').replace(/20$/, '');
// pydicom's character-set examples (from PS3.5 Annex H–J), read as files: an independent source of real bytes.
const CHARSET_FILES = '/usr/lib/python3/dist-packages/pydicom/data/charset_files';
function patientNameOf(file: string): { bytes: Buffer; charset: string[] } {
  const parsed = parseInstanceFile(path.join(CHARSET_FILES, file));
  const charset = specificCharacterSetOf(parsed.dataset);
  const bytes = parsed.dataset.get(tagOf('PatientName'))!.value!;
  parsed.close();
  return { bytes, charset };
}

describe('descriptors cleaned in the instance\'s own character set', () => {
  it('removes a Cyrillic name from a descriptor and writes the rest back in ISO 8859-5', () => {
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 144'),
      raw('PatientName', 'PN', iso88595('Иванова^Мария')),
      raw('StudyDescription', 'LO', iso88595('Маммография Иванова')),
    ]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.get(tagOf('SpecificCharacterSet'))?.value?.toString('latin1').trim()).toBe('ISO_IR 144');
    const value = dataset.get(tagOf('StudyDescription'))!.value!;
    expect(value.toString('latin1').trim()).toBe(iso88595('Маммография').toString('latin1'));
    expect(decodeText(value, 'LO', ['ISO_IR 144']).trim()).toBe('Маммография');
  });

  it('cleans UTF-8 text and keeps it UTF-8', () => {
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', 'ISO_IR 192'),
      raw('PatientName', 'PN', Buffer.from('Müller-Lüdenscheidt^Jürgen', 'utf8')),
      raw('SeriesDescription', 'LO', Buffer.from('Tomosynthèse Müller-Lüdenscheidt', 'utf8')),
    ]);
    const { dataset } = deidentifyRoundTrip(ds, contextFor());
    expect(dataset.get(tagOf('SeriesDescription'))!.value!.toString('utf8').trim()).toBe('Tomosynthèse');
  });

  // Expected bytes from Python's codecs (iso2022_jp, euc_kr, gb18030, gbk), not from the code under test.
  it('keeps a Japanese descriptor in ISO 2022 IR 87 with the name removed (山田 beside kanji)', () => {
    const name = patientNameOf('chrH31.dcm');
    expect(decodeText(name.bytes, 'PN', name.charset).trim()).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', '\\ISO 2022 IR 87'),
      raw('PatientName', 'PN', name.bytes),
      raw('StudyDescription', 'LO', hex('1b24423b3345441b2842201b2442467d4b3c3b2331461b2842')), // 山田 乳房撮影
    ]);
    expect(description(deidentifyRoundTrip(ds, contextFor()).dataset)).toBe('1b2442467d4b3c3b2331461b2842'); // 乳房撮影
  });

  it('keeps a Korean descriptor in ISO 2022 IR 149 with the name removed (홍길동)', () => {
    const name = patientNameOf('chrI2.dcm');
    expect(decodeText(name.bytes, 'PN', name.charset).trim()).toBe('Hong^Gildong=洪^吉洞=홍^길동');
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', '\\ISO 2022 IR 149'),
      raw('PatientName', 'PN', name.bytes),
      raw('StudyDescription', 'LO', hex('1b242943 c8abb1e6b5bf 20 c0afb9e6c3d4bfb5bcfa')), // 홍길동 유방촬영술
    ]);
    // ESC $ ) C designates KS X 1001 before its first character, as PS3.5 Annex I writes it.
    expect(description(deidentifyRoundTrip(ds, contextFor()).dataset)).toBe('1b242943c0afb9e6c3d4bfb5bcfa');
  });

  it.each([['GB18030'], ['GBK']])('keeps a Chinese descriptor in %s with the name removed (王伟)', (charset) => {
    const ds = baseDataset([
      textElement(tagOf('SpecificCharacterSet'), 'CS', charset),
      raw('PatientName', 'PN', Buffer.concat([Buffer.from('Wang^Wei='), hex('cdf55eceb0')])), // Wang^Wei=王^伟
      raw('StudyDescription', 'LO', hex('cdf5ceb020c8e9cfd958cfdfc9e3d3b0')), // 王伟 乳腺X线摄影
    ]);
    expect(description(deidentifyRoundTrip(ds, contextFor()).dataset)).toBe('c8e9cfd958cfdfc9e3d3b0'); // 乳腺X线摄影
  });

  it('writes ISO 2022 text byte for byte as the standard\'s own examples, with half-width katakana under IR 13', () => {
    for (const file of ['chrH31.dcm', 'chrH32.dcm', 'chrI2.dcm', 'chrJapMulti.dcm']) {
      const name = patientNameOf(file);
      const text = decodeText(name.bytes, 'PN', name.charset).replace(/ +$/, '');
      // Re-encoded: the same text reads back; trailing padding and a redundant final ESC ( B are the only freedom.
      const again = encodeText(text, 'PN', name.charset)!;
      expect(decodeText(again, 'PN', name.charset).trim()).toBe(text);
    }
    expect(decodeText(patientNameOf('chrH32.dcm').bytes, 'PN', ['ISO 2022 IR 13', 'ISO 2022 IR 87']).trim()).toBe('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
    expect(encodeText('ﾏﾝﾓ', 'LO', ['ISO 2022 IR 13', 'ISO 2022 IR 87'])?.toString('hex')).toBe('cfddd320');
  });

  it('empties rather than mis-encodes text the character set cannot hold', () => {
    expect(encodeText('MAMMO', 'LO', ['GB18030'])?.toString('latin1')).toBe('MAMMO ');
    expect(encodeText('Ελλάδα', 'LO', ['ISO_IR 126'])).toBeDefined();
    expect(encodeText('Ελλάδα', 'LO', ['ISO_IR 100'])).toBeUndefined();
    // Hangul is in neither JIS X 0208 nor GB 2312.
    expect(encodeText('유방', 'LO', ['', 'ISO 2022 IR 87'])).toBeUndefined();
    expect(encodeText('유방', 'LO', ['', 'ISO 2022 IR 58'])).toBeUndefined();
  });
});
